"""Open statistics: a page with charts (SVG made on the server, the figures as tables
beside them), one JSON document and one CSV file per table, at stable URLs, under CC0."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from permits.selectors.statistics import LICENCE_URL, Table, service_statistics, statistics_tables

BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH = 22, 6, 150, 640


def _licensed(response: HttpResponse) -> HttpResponse:
    response["Link"] = f'<{LICENCE_URL}>; rel="license"'
    response["Access-Control-Allow-Origin"] = "*"  # open data, for any client
    return response


def _kommunkod(request: HttpRequest) -> str | None:
    code = request.GET.get("kommun", "").strip()
    if code and not (len(code) == 4 and code.isascii() and code.isdigit()):
        raise Http404
    return code or None


def statistics_page(request: HttpRequest) -> HttpResponse:
    """The statistics with charts and tables (also ?format=json, as before)."""
    kommunkod = _kommunkod(request)
    if request.GET.get("format") == "json":
        return statistics_json(request)
    tables = statistics_tables(kommunkod)
    return _licensed(render(request, "permits/statistics/page.html", {
        "figures": service_statistics(kommunkod), "sections": _sections(tables),
        "names": list(tables), "kommunkod": kommunkod or "", "licence_url": LICENCE_URL}))


def _sections(tables: dict[str, Table]) -> list[dict[str, Any]]:
    """What the page shows of each table: a title, its column headings, and a chart of
    one column (or none)."""
    shown = [
        ("per-month", _("Applications per month"), (_("Month"), _("Applications")), 1),
        ("per-case-type", _("Applications per case type"),
         (_("Case type"), _("Applications")), 1),
        ("per-municipality", _("Applications per municipality"),
         (_("Municipality code"), _("Municipality"), _("Applications")), 2),
        ("per-district", _("Applications per district"),
         (_("Municipality code"), _("District"), _("Applications")), None),
        ("per-outcome", _("Decisions per outcome"), (_("Outcome"), _("Decisions")), 1),
        ("processing-times", _("Days from a complete application to the decision"),
         (_("Case type"), _("Decisions"), _("Median days"), _("Fewest days"),
          _("Most days"), _("Decided in time (%)")), 2),
        ("fee-reductions", _("Fees reduced for late decisions (fifths)"),
         (_("Reduced by fifths"), _("Decisions"), _("Kronor reduced")), 1),
        ("ratings", _("Ratings of the e-service (1-5)"), (_("Rating"), _("Answers")), 1),
    ]
    return [{"id": name, "title": title, "headings": headings, "table": tables[name],
             "chart": _bars(tables[name], column) if column is not None else None}
            for name, title, headings, column in shown]


def statistics_json(request: HttpRequest) -> HttpResponse:
    """Every figure as one JSON document."""
    return _licensed(JsonResponse(service_statistics(_kommunkod(request)),
                                  json_dumps_params={"ensure_ascii": False}))


def statistics_csv(request: HttpRequest, name: str) -> HttpResponse:
    """One table as CSV (UTF-8, comma-separated, a header row)."""
    table = statistics_tables(_kommunkod(request)).get(name)
    if table is None:
        raise Http404
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{name}.csv"'
    return _licensed(response)


def _bars(table: Table, value_column: int) -> dict[str, Any]:
    """The geometry of a horizontal bar chart of one column (drawn by a template)."""
    values = [float(row[value_column] or 0) for row in table.rows]
    top = max(values, default=0) or 1
    bars = []
    for number, (row, value) in enumerate(zip(table.rows, values, strict=True)):
        y = number * (BAR_HEIGHT + GAP)
        bars.append({"label": str(row[0]), "value": row[value_column],
                     "y": y, "text_y": y + BAR_HEIGHT * 0.7,
                     "width": round((CHART_WIDTH - LABEL_WIDTH - 60) * value / top, 1),
                     "value_x": LABEL_WIDTH + 6 + (CHART_WIDTH - LABEL_WIDTH - 60) * value / top})
    return {"bars": bars, "height": max(len(bars) * (BAR_HEIGHT + GAP), BAR_HEIGHT),
            "width": CHART_WIDTH, "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT,
            "column": table.columns[value_column]}
