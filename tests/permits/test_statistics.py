"""Open statistics over the demo's case history: applications per month, type, outcome,
municipality and district; processing times against the limits; fee reductions;
ratings. The same figures in the page (charts and tables), the JSON and the CSV files,
each under CC0, with nothing that identifies an applicant."""

from __future__ import annotations

import csv
import io
import statistics as stats
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from permits.models import Application
from permits.workflow import Status

pytestmark = pytest.mark.django_db
CC0 = '<https://creativecommons.org/publicdomain/zero/1.0/>; rel="license"'


def table(client: Client, name: str, **query: str) -> list[dict[str, str]]:
    response = client.get(f"/statistik/{name}.csv", query)
    assert response.status_code == 200 and response["Link"] == CC0
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_figures_are_the_cases_own(demo_cases, client):
    sent = Application.objects.exclude(status=Status.DRAFT)
    figures = client.get("/statistik/statistik.json").json()
    assert figures["licence"] == "CC0-1.0" and figures["applications"] == sent.count() == 40
    assert sum(figures["by_case_type"].values()) == 40

    # Processing times, computed here from the cases themselves.
    decided = list(sent.filter(decided_on__isnull=False))
    days = [(a.decided_on - (a.complete_on or a.received_on)).days for a in decided]
    in_time = [a.deadline is None or a.decided_on <= a.deadline for a in decided]
    rows = {r["case_type"]: r for r in table(client, "processing-times")}
    assert int(rows["all"]["decisions"]) == len(decided) == 14
    assert float(rows["all"]["median_days"]) == stats.median(days)
    assert float(rows["all"]["in_time_percent"]) == round(100 * sum(in_time) / len(in_time), 1)
    assert figures["median_days_to_decision"] == stats.median(days)

    # Fee reductions: two late decisions per municipality, by 2 and by 5 fifths.
    reductions = {int(r["reduced_fifths"]): r for r in table(client, "fee-reductions")}
    assert int(reductions[2]["decisions"]) == 2 and int(reductions[5]["decisions"]) == 2
    waived = sum(a.fee_sek for a in decided if a.fee_reduction_fifths == 5)
    assert int(reductions[5]["reduced_sek"]) == waived

    per_municipality = table(client, "per-municipality")
    assert [(r["kommunkod"], int(r["applications"])) for r in per_municipality] == [
        ("2280", 20), ("2281", 20)]
    outcomes = {r["outcome"]: int(r["decisions"]) for r in table(client, "per-outcome")}
    assert outcomes == {"granted": 10, "refused": 2, "dismissed": 2}


def test_one_municipality_and_small_districts_folded(demo_cases, client):
    only = client.get("/statistik/statistik.json", {"kommun": "2280"}).json()
    assert only["applications"] == 20 and only["municipality"] == "2280"
    districts = table(client, "per-district", kommun="2280")
    assert {r["kommunkod"] for r in districts} == {"2280"}
    # A district of one or two cases is not told apart (it could point at an applicant).
    assert all(int(r["applications"]) >= 3 or r["district"] == "other" for r in districts)
    assert sum(int(r["applications"]) for r in districts) == 20
    assert client.get("/statistik/statistik.json", {"kommun": "22"}).status_code == 404
    assert client.get("/statistik/no-such-table.csv").status_code == 404


def test_the_page_has_charts_and_the_same_figures_as_tables(demo_cases, client):
    response = client.get("/statistik/")
    assert response.status_code == 200 and response["Link"] == CC0
    page = response.content.decode()
    assert 'rel="license"' in page and "CC0 1.0" in page
    # Each chart is an SVG with a title, one bar per row of its table.
    svgs = page.count("<svg ")
    assert svgs >= 6
    start = page.index('<figure class="chart">')
    svg = page[page.index("<svg", start):page.index("</svg>", start) + 6]
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bars = root.findall(f".//{ns}rect")
    months = table(client, "per-month")
    assert len(bars) == len(months) and root.find(f"{ns}title").text
    assert 'id="table-per-month"' in page and 'id="table-processing-times"' in page
    assert "Median" in page or "Mediantid" in page
    for name in ("demo-anna", "Lindqvist", "example.invalid"):
        assert name not in page  # nothing that identifies anyone
