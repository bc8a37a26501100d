"""Cases, their checks and their neighbour lists as exportable layers (geodata's exporter
writes them in every format and CRS).

A case leaves with its location (the pin, a point), property, type, status, dates,
decision and fee. ``checks``: one row a check of each case's latest check run, on the
case's site. ``neighbours``: one row a neighbour parcel to hear about each case (as the
hearing finds them: touching, or across a street), with the hearing's state if one was
started. Personal data (the applicant's name and contact details, a neighbour's
addressee) leave only in an export limited to one municipality, made by someone who
holds a staff role there; every export is recorded (geodata's ExportRun) with who, what
and which filter. All three take the cases' filters: status, type, date received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from geodata.errors import InvalidInput
from geodata.exports import Column, Layer, register
from geodata.models import Municipality
from permits.models import Application, CaseCheck, CaseType, CheckAssessment, HearingParty
from permits.selectors.casework import roles_by_municipality
from permits.workflow import Status

# Only our own table's name is put into the SQL.
KOMMUNKOD_SQL = (f"(SELECT m.kommunkod FROM {Municipality._meta.db_table} m "  # noqa: S608
                 "WHERE m.id = t.municipality_id)")


def _plain(name: str, arrow_type: pa.DataType) -> Column:
    return Column(name, arrow_type, {"postgresql": f"t.{name}", "sqlite": f"t.{name}"})


PUBLIC = (
    _plain("case_number", pa.string()),
    Column("kommunkod", pa.string(), {"postgresql": KOMMUNKOD_SQL, "sqlite": KOMMUNKOD_SQL}),
    _plain("case_type", pa.string()), _plain("measure", pa.string()),
    _plain("status", pa.string()), _plain("property_designation", pa.string()),
    _plain("building_area_m2", pa.float64()),
    _plain("received_on", pa.date32()), _plain("complete_on", pa.date32()),
    _plain("deadline", pa.date32()), _plain("extended_weeks", pa.int16()),
    _plain("decided_on", pa.date32()), _plain("outcome", pa.string()),
    _plain("notified_on", pa.date32()), _plain("fee_sek", pa.int32()),
    _plain("fee_reduction_fifths", pa.int16()),
)
PERSONAL = (_plain("contact_name", pa.string()), _plain("contact_email", pa.string()),
            _plain("contact_phone", pa.string()))


def may_see_personal_data(user: Any, kommunkod: str | None) -> bool:
    """Whether an export for ``user`` limited to ``kommunkod`` may carry applicants' names
    and contact details: only for someone holding a staff role in that municipality."""
    if not kommunkod or not getattr(user, "is_authenticated", False):
        return False
    municipality = Municipality.objects.filter(kommunkod=kommunkod).first()
    return municipality is not None and bool(
        roles_by_municipality(user).get(municipality.pk))


def _day(value: Any, name: str) -> date:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("%(name)s is not a date (YYYY-MM-DD).") % {"name": name}) from None


def cases_layer(user: Any, filters: dict[str, Any]) -> Layer:
    """The cases layer for ``user``, limited by its own filters: ``status`` and
    ``case_type`` (lists of codes), ``received_from`` and ``received_to`` (dates)."""
    where: list[tuple[str, tuple[Any, ...]]] = [
        ("t.status <> %s", (Status.DRAFT.value,)), ("t.location IS NOT NULL", ())]
    statuses = [s for s in filters.get("status") or [] if s in Status.values]
    if statuses:
        where.append((f"t.status IN ({', '.join(['%s'] * len(statuses))})", tuple(statuses)))
    types = [t for t in filters.get("case_type") or [] if t in CaseType.values]
    if types:
        where.append((f"t.case_type IN ({', '.join(['%s'] * len(types))})", tuple(types)))
    if filters.get("received_from"):
        where.append(("t.received_on >= %s", (_day(filters["received_from"],
                                                     "received_from"),)))
    if filters.get("received_to"):
        where.append(("t.received_on <= %s", (_day(filters["received_to"],
                                                     "received_to"),)))
    personal = may_see_personal_data(user, filters.get("kommunkod"))
    return Layer(name="cases", table=str(Application._meta.db_table),
                 columns=PUBLIC + (PERSONAL if personal else ()),
                 geometry_type="Point", municipality_column=None,
                 geometry_column="location", municipality_sql=KOMMUNKOD_SQL,
                 where=tuple(where))


def _cases(filters: dict[str, Any]) -> QuerySet[Application]:
    """The cases the filters take, as the cases layer does (drafts never)."""
    cases = Application.objects.exclude(status=Status.DRAFT)
    statuses = [s for s in filters.get("status") or [] if s in Status.values]
    if statuses:
        cases = cases.filter(status__in=statuses)
    types = [t for t in filters.get("case_type") or [] if t in CaseType.values]
    if types:
        cases = cases.filter(case_type__in=types)
    if filters.get("received_from"):
        cases = cases.filter(received_on__gte=_day(filters["received_from"], "received_from"))
    if filters.get("received_to"):
        cases = cases.filter(received_on__lte=_day(filters["received_to"], "received_to"))
    if filters.get("kommunkod"):
        cases = cases.filter(municipality__kommunkod=filters["kommunkod"])
    return cases.select_related("municipality").order_by("id")


def _multi_wkb(geometry: GEOSGeometry) -> bytes:
    if geometry.geom_type == "Polygon":
        geometry = MultiPolygon(geometry, srid=geometry.srid)
    return bytes(geometry.wkb)


CHECKS = (
    _plain("case_number", pa.string()), _plain("kommunkod", pa.string()),
    _plain("checked_at", pa.string()), _plain("reason", pa.string()),
    _plain("code", pa.string()), _plain("status", pa.string()),
    _plain("measured", pa.float64()), _plain("limit", pa.float64()),
    _plain("unit", pa.string()), _plain("bestammelsekod", pa.string()),
    _plain("text", pa.string()), _plain("message", pa.string()),
    _plain("assessment", pa.string()), _plain("data_versions", pa.string()),
)


def _check_rows(filters: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], bytes]]:
    """One row a check of each case's latest check run, with the officer's latest
    assessment of it (if any), on the case's site (else what was checked)."""
    from permits.services.checks import _checks_by_code, case_footprint

    latest = CaseCheck.objects.filter(application=OuterRef("pk")).order_by("-run_at", "-id")
    cases = list(_cases(filters).annotate(last_check=Subquery(latest.values("id")[:1]))
                 .filter(last_check__isnull=False))
    for start in range(0, len(cases), 500):
        some = cases[start:start + 500]
        runs = CaseCheck.objects.in_bulk([c.last_check for c in some])
        verdicts = {(a.check_run_id, a.code): a.verdict for a in CheckAssessment.objects
                    .filter(check_run__in=list(runs)).order_by("at", "id")}
        for case in some:
            # A case without a site (rare): what its checks measured.
            geometry = case.site or case_footprint(case)
            if geometry is None:
                continue
            run, wkb = runs[case.last_check], _multi_wkb(geometry)
            versions = json.dumps(run.result.get("data_versions") or {}, cls=DjangoJSONEncoder,
                                  ensure_ascii=False, sort_keys=True)
            for key, check in _checks_by_code(run.result).items():
                yield (case.case_number, case.municipality.kommunkod if case.municipality
                       else None, run.run_at.isoformat(), run.reason, check.get("code"),
                       check.get("status"), check.get("measured"), check.get("limit"),
                       check.get("unit"), check.get("bestammelsekod"), check.get("text"),
                       check.get("message"), verdicts.get((run.pk, key)), versions), wkb


def checks_layer(user: Any, filters: dict[str, Any]) -> Layer:
    """The checks layer for ``user``, limited by the cases' filters (nothing personal)."""
    del user  # the checks carry no personal data
    return Layer(name="checks", table="", columns=CHECKS, geometry_type="MultiPolygon",
                 municipality_column=None, rows=lambda: _check_rows(filters))


NEIGHBOURS = (
    _plain("case_number", pa.string()), _plain("kommunkod", pa.string()),
    _plain("designation", pa.string()), _plain("neighbour_kommunkod", pa.string()),
    _plain("addresses", pa.string()), _plain("relation", pa.string()),
    _plain("distance_m", pa.float64()), _plain("hearing", pa.string()),
    _plain("sent_on", pa.date32()), _plain("reply_by", pa.date32()),
    _plain("received_on", pa.date32()),
)
# Whom a neighbour's letter went to, and where: personal data.
ADDRESSEE = (_plain("addressee", pa.string()), _plain("addressee_address", pa.string()))
NOT_HEARD = "not_heard"
AWAITING = "awaiting_reply"


def _neighbour_rows(filters: dict[str, Any], personal: bool
                    ) -> Iterator[tuple[tuple[Any, ...], bytes]]:
    """One row a neighbour parcel to hear about each case with a property, as the hearing
    finds them, with the hearing of its property if one was started."""
    from permits.services.hearings import hearing_neighbours

    cases = _cases(filters).filter(Q(parcel__isnull=False)
                                   | Q(parcel_objektidentitet__isnull=False))
    for case in cases.select_related("parcel"):
        parties: dict[Any, HearingParty] = {p.registerenhetsreferens: p for p in (
            case.hearing_parties.filter(kind=HearingParty.Kind.NEIGHBOUR).order_by("id"))}
        for found in hearing_neighbours(case):
            party = parties.get(found.registerenhetsreferens)
            hearing = NOT_HEARD if party is None else (party.reply or AWAITING)
            values = (case.case_number, case.municipality.kommunkod if case.municipality
                      else None, found.designation, found.kommunkod,
                      "; ".join(found.addresses), found.relation, found.distance_m, hearing,
                      party and party.sent_on, party and party.reply_by,
                      party and party.received_on)
            if personal:
                values += (party and party.name, party and ", ".join(party.lines))
            for parcel in found.parcels:
                yield values, _multi_wkb(parcel.geom)


def neighbours_layer(user: Any, filters: dict[str, Any]) -> Layer:
    """The neighbours layer for ``user``, limited by the cases' filters; the addressees
    only for someone who may see the municipality's personal data."""
    personal = may_see_personal_data(user, filters.get("kommunkod"))
    return Layer(name="neighbours", table="",
                 columns=NEIGHBOURS + (ADDRESSEE if personal else ()),
                 geometry_type="MultiPolygon", municipality_column=None,
                 rows=lambda: _neighbour_rows(filters, personal))


def register_exports() -> None:
    """Offer the cases, checks and neighbours layers to geodata's exporter (called once,
    at start-up)."""
    register("cases", cases_layer)
    register("checks", checks_layer)
    register("neighbours", neighbours_layer)
