"""The e-service's open statistics: aggregates only, nothing that identifies anyone.

Applications per month, case type, outcome, municipality and district (the property's
trakt); processing times against the PBL limits (median days, share decided in time);
fee reductions for late decisions; the applicants' ratings. Published as open data under
CC0 (``permits/views/statistics.py``), as tables that are the same in the page, the JSON
and the CSV files.
"""

from __future__ import annotations

import statistics as stats
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Avg, Count, QuerySet
from django.db.models.functions import TruncMonth

from permits.models import Application, Feedback
from permits.workflow import Status

LICENCE = "CC0-1.0"
LICENCE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"
# A district with fewer cases than this is not published apart (it could point at one
# applicant); its cases count under "other".
DISTRICT_MIN = 3


@dataclass(frozen=True)
class Table:
    """One published table: a stable name, its columns and rows."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _sent(kommunkod: str | None) -> QuerySet[Application]:
    sent = Application.objects.exclude(status=Status.DRAFT)
    return sent.filter(municipality__kommunkod=kommunkod) if kommunkod else sent


def _started(received: date, complete: date | None) -> date:
    """The day the PBL limit started to run (complete, else received)."""
    return complete or received


def statistics_tables(kommunkod: str | None = None) -> dict[str, Table]:
    """Every published table, by its stable name (the CSV file names)."""
    sent = _sent(kommunkod)
    months = Table("per-month", ("month", "applications"), [
        (row["month"].strftime("%Y-%m"), row["n"])
        for row in sent.annotate(month=TruncMonth("submitted_at")).values("month")
        .annotate(n=Count("id")).order_by("month") if row["month"]])
    types = Table("per-case-type", ("case_type", "applications"), [
        (row["case_type"], row["n"]) for row in
        sent.values("case_type").annotate(n=Count("id")).order_by("case_type")])
    outcomes = Table("per-outcome", ("outcome", "decisions"), [
        (row["outcome"], row["n"]) for row in sent.exclude(outcome="").values("outcome")
        .annotate(n=Count("id")).order_by("outcome")])
    municipalities = Table("per-municipality", ("kommunkod", "municipality", "applications"), [
        (row["municipality__kommunkod"], row["municipality__name"], row["n"])
        for row in sent.filter(municipality__isnull=False)
        .values("municipality__kommunkod", "municipality__name")
        .annotate(n=Count("id")).order_by("municipality__kommunkod")])
    return {t.name: t for t in (months, types, outcomes, municipalities, _districts(sent),
                                _processing(sent), _reductions(sent), _ratings(kommunkod))}


def _districts(sent: QuerySet[Application]) -> Table:
    counts = Counter((kod or "", trakt or "") for kod, trakt in
                     sent.values_list("municipality__kommunkod", "parcel__trakt"))
    rows: dict[tuple[str, str], int] = defaultdict(int)
    for (kod, trakt), n in counts.items():
        rows[(kod, trakt if trakt and n >= DISTRICT_MIN else "other")] += n
    return Table("per-district", ("kommunkod", "district", "applications"),
                 sorted((k, d, n) for (k, d), n in rows.items()))


def _processing(sent: QuerySet[Application]) -> Table:
    """Days from the start of the limit to the decision, per case type, and the share
    decided within the limit."""
    days: dict[str, list[int]] = defaultdict(list)
    in_time: Counter[str] = Counter()
    for case_type, received, complete, deadline, decided in sent.filter(
            decided_on__isnull=False, received_on__isnull=False).values_list(
            "case_type", "received_on", "complete_on", "deadline", "decided_on"):
        for key in (case_type, "all"):
            days[key].append((decided - _started(received, complete)).days)
            in_time[key] += deadline is None or decided <= deadline
    rows = [(key, len(values), stats.median(values), min(values), max(values),
             round(100.0 * in_time[key] / len(values), 1))
            for key, values in sorted(days.items(), key=lambda kv: (kv[0] == "all", kv[0]))]
    return Table("processing-times", ("case_type", "decisions", "median_days", "min_days",
                                      "max_days", "in_time_percent"), rows)


def _reductions(sent: QuerySet[Application]) -> Table:
    """Decisions by the fifths the fee was reduced for lateness, and the kronor waived."""
    rows: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for fifths, fee in sent.filter(decided_on__isnull=False).values_list(
            "fee_reduction_fifths", "fee_sek"):
        row = rows[fifths or 0]
        row[0] += 1
        # The fee stored is the full fee; the reduction is fifths of it.
        row[1] += round((fee or 0) * min(fifths or 0, 5) / 5)
    return Table("fee-reductions", ("reduced_fifths", "decisions", "reduced_sek"),
                 [(f, n, sek) for f, (n, sek) in sorted(rows.items())])


def _ratings(kommunkod: str | None) -> Table:
    answers = Feedback.objects.all()
    if kommunkod:
        answers = answers.filter(application__municipality__kommunkod=kommunkod)
    return Table("ratings", ("rating", "answers"), [
        (row["rating"], row["n"]) for row in
        answers.values("rating").annotate(n=Count("id")).order_by("rating")])


def service_statistics(kommunkod: str | None = None) -> dict[str, object]:
    """The statistics as one JSON document: the tables, and the headline figures."""
    tables = statistics_tables(kommunkod)
    answers = Feedback.objects.all()
    if kommunkod:
        answers = answers.filter(application__municipality__kommunkod=kommunkod)
    ratings = answers.aggregate(n=Count("id"), average=Avg("rating"))
    every = next((r for r in tables["processing-times"].rows if r[0] == "all"), None)
    return {
        "licence": LICENCE, "licence_url": LICENCE_URL,
        "municipality": kommunkod,
        "applications": _sent(kommunkod).count(),
        "by_case_type": dict(tables["per-case-type"].rows),
        "by_month": tables["per-month"].as_dicts(),
        "decisions": sum(n for _o, n in tables["per-outcome"].rows),
        "median_days_to_decision": every[2] if every else None,
        "decided_in_time_percent": every[5] if every else None,
        "feedback": {"answers": ratings["n"],
                     "average_rating": round(ratings["average"], 2)
                     if ratings["average"] is not None else None,
                     "distribution": {str(r): n for r, n in tables["ratings"].rows}},
        "tables": {name: table.as_dicts() for name, table in tables.items()},
    }
