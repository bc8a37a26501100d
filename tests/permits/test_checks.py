"""Measured checks of a footprint against the detailed plan (POST /api/v1/checks).

Every expected figure is computed here, independently, with shapely on the fixture's own
layers (the GeoPackage the OGC server serves), not with the code under test.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
import shapely
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from shapely.geometry import box, mapping

from fixtures import generate
from geodata.crs import to_srid
from geodata.models import Plan, Regulation, Source, SyncRun
from permits.checks.footprint import footprint_check
from permits.checks.formulation import Kind, Unit, limit_of, read_value
from permits.checks.rules import (
    Facts,
    PlanFacts,
    PropertyFacts,
    RegulationFacts,
    Status,
    Tolerance,
    evaluate,
)
from tests.conftest import FIXTURE

pytestmark = pytest.mark.django_db

E0, N0 = generate.E0, generate.N0
NO_BUILDING = "DP_KM_EG_UTF_MARK1"
COVERAGE = "DP_KM_EG_BEG_BYA2"
HEIGHT = "DP_KM_EG_HOJ_NOCK1"
TOLERANCE = Tolerance(m2=1.0, percent=1.0)


class Row(dict):
    """A feature of a fixture layer: its fields as keys and attributes, and its geometry."""

    __getattr__ = dict.__getitem__


@pytest.fixture(scope="module")
def layers(fixture_gpkg) -> dict[str, list[Row]]:
    """The fixture's layers, read straight from the GeoPackage (with Django's GDAL: pyogrio's
    own GDAL and SQLite do not share a process with an open SpatiaLite connection)."""
    source = DataSource(str(FIXTURE))
    out = {}
    for name in ("registerenhetsomradesytor", "byggnad", "planbestammelse", "detaljplan"):
        layer = source[name]
        out[name] = [Row({field: feature.get(field) for field in layer.fields},
                         geometry=shapely.from_wkb(bytes(feature.geom.wkb)))
                     for feature in layer]
    return out


@pytest.fixture(autouse=True)
def sliver_tolerance(settings):
    settings.LOVKARTA_SLIVER_M2 = TOLERANCE.m2
    settings.LOVKARTA_SLIVER_PERCENT = TOLERANCE.percent


def at(x0: float, y0: float, x1: float, y1: float, origin: tuple[float, float] = (E0, N0)
       ) -> shapely.Polygon:
    """A rectangle given in metres from an origin (by default ABBOTEN 1's south-west corner)."""
    ox, oy = origin
    return box(ox + x0, oy + y0, ox + x1, oy + y1)


def post(client, shape: shapely.Geometry, height_m: float | None = None, srid: int = 3006):
    body: dict = {"geometry": mapping(shape), "srid": srid}
    if height_m is not None:
        body["height_m"] = height_m
    return client.post("/api/v1/checks", json.dumps(body), content_type="application/json")


def checked(client, shape: shapely.Geometry, height_m: float | None = None) -> dict:
    response = post(client, shape, height_m)
    assert response.status_code == 200, response.content
    return response.json()


def checks_of(data: dict, code: str) -> list[dict]:
    return [c for c in data["checks"] if c["code"] == code]


def one(data: dict, code: str) -> dict:
    found = checks_of(data, code)
    assert len(found) == 1, data["checks"]
    return found[0]


def parcel(layers, etikett: str) -> Row:
    return next(p for p in layers["registerenhetsomradesytor"] if p.etikett == etikett)


def regulation_under(layers, code: str, shape: shapely.Geometry) -> shapely.Geometry:
    return shapely.union_all([r.geometry for r in layers["planbestammelse"]
                              if r.bestammelsekod == code and r.geometry.intersects(shape)])


def expected_overlap(layers, code: str, shape: shapely.Geometry) -> tuple[float, float]:
    overlap = regulation_under(layers, code, shape).intersection(shape).area
    return overlap, 100.0 * overlap / shape.area


def listed(data: dict, code: str) -> dict:
    found = [r for r in data["regulations"] if r["bestammelsekod"] == code]
    assert len(found) == 1, data["regulations"]
    return found[0]


# Slivers: an overlap below 1 m² *and* 1 % of the footprint is listed, not counted.

@pytest.mark.parametrize(("depth", "sliver"), [(0.043, True), (0.044, False)])
def test_sliver_just_under_and_just_over_the_m2_tolerance(client, demo_data, layers, depth,
                                                          sliver):
    # 23 m wide, reaching ``depth`` m into the no-building strip along the street.
    shape = at(1.0, 6.0 - depth, 24.0, 11.0)
    overlap, share = expected_overlap(layers, NO_BUILDING, shape)
    assert round(overlap, 2) == (0.99 if sliver else 1.01) and share < 1.0
    data = checked(client, shape)
    hit = listed(data, NO_BUILDING)
    assert (hit["overlap_m2"], hit["share_percent"]) == (round(overlap, 2), round(share, 2))
    assert hit["sliver"] is sliver
    check = one(data, "no_building")
    assert check["status"] == ("ok" if sliver else "fail")
    assert check["measured"] == (0.0 if sliver else round(overlap, 2))
    assert (check["limit"], check["unit"]) == (0.0, "m2")


@pytest.mark.parametrize(("depth", "sliver"), [(0.038, True), (0.042, False)])
def test_sliver_just_under_and_just_over_the_percent_tolerance(client, demo_data, layers,
                                                               depth, sliver):
    # A 4 x 4 m shed: well under 1 m², but over 1 % of its own area counts.
    shape = at(19.0, 6.0 - depth, 23.0, 10.0 - depth)
    overlap, share = expected_overlap(layers, NO_BUILDING, shape)
    assert overlap < 1.0 and (share < 1.0) is sliver
    data = checked(client, shape)
    hit = listed(data, NO_BUILDING)
    assert (hit["overlap_m2"], hit["share_percent"], hit["sliver"]) == (
        round(overlap, 2), round(share, 2), sliver)
    assert one(data, "no_building")["status"] == ("ok" if sliver else "fail")


def test_footprint_half_on_no_building_land(client, demo_data, layers):
    shape = at(18.3, 6.0 - 3.37, 24.1, 6.0 + 3.37)
    overlap, share = expected_overlap(layers, NO_BUILDING, shape)
    assert round(overlap, 2) == 19.55 and round(share, 2) == 50.0
    data = checked(client, shape)
    check = one(data, "no_building")
    assert check == {"code": "no_building", "status": "fail", "measured": round(overlap, 2),
                     "limit": 0.0, "unit": "m2", "bestammelsekod": NO_BUILDING,
                     "text": "Marken får inte förses med byggnad",
                     "message": check["message"]}
    assert "19,55 m²" in check["message"]
    assert one(data, "neighbours")["status"] == "review"
    hit = listed(data, NO_BUILDING)
    assert (hit["overlap_m2"], hit["share_percent"], hit["sliver"]) == (19.55, 50.0, False)


def expected_coverage(layers, etikett: str, shape: shapely.Geometry) -> tuple[float, float]:
    """Return (built m², percent of the property's area), from the fixture's layers."""
    ref = parcel(layers, etikett).registerenhetsreferens
    area = sum(p.geometry.area for p in layers["registerenhetsomradesytor"]
               if p.registerenhetsreferens == ref)
    standing = [b.geometry for b in layers["byggnad"] if b.registerenhetsreferens == ref]
    built = shapely.union_all([*standing, shape]).area
    return built, 100.0 * built / area


@pytest.mark.parametrize(("depth", "status"), [(7.08, "ok"), (7.09, "fail")])
def test_coverage_just_under_and_just_over_the_limit(client, demo_data, layers, depth, status):
    # ABBOTEN 1: 1,000 m², a house of 80 m²; e1 allows 25 % (250 m²): 170 m² more.
    shape = at(0.5, 17.0, 24.5, 17.0 + depth)
    built, percent = expected_coverage(layers, "ABBOTEN 1", shape)
    assert (round(percent, 2) <= 25.0) is (status == "ok")
    data = checked(client, shape, height_m=6.5)
    check = one(data, "coverage")
    assert check["measured"] == round(percent, 2) == (24.99 if status == "ok" else 25.02)
    assert (check["status"], check["limit"], check["unit"]) == (status, 25.0, "percent")
    assert check["bestammelsekod"] == COVERAGE
    assert check["text"] == "Största byggnadsarea är 25 procent av fastighetsarean"
    assert one(data, "no_building")["measured"] == 0.0
    # Within the plan in every way: nobody needs to be heard, unless the check fails.
    assert one(data, "neighbours")["status"] == ("ok" if status == "ok" else "review")
    assert one(data, "plan")["status"] == "ok"


@pytest.mark.parametrize(("height", "status"), [(9.0, "fail"), (8.5, "ok"), (None, "review")])
def test_height_against_the_plans_maximum(client, demo_data, layers, height, status):
    shape = at(2.0, 20.0, 12.0, 30.0)
    maximum = next(r.varde for r in layers["planbestammelse"]
                   if r.bestammelsekod == HEIGHT and r.geometry.contains(shape))
    assert maximum == 8.5
    check = one(checked(client, shape, height_m=height), "height")
    assert (check["status"], check["measured"], check["limit"], check["unit"]) == (
        status, height, maximum, "m")
    assert (check["bestammelsekod"], check["text"]) == (HEIGHT, "Högsta nockhöjd är 8.5 meter")


def test_plan_status_and_implementation_period(client, demo_data, layers):
    data = checked(client, at(2.0, 20.0, 12.0, 30.0), height_m=6.0)
    plan = next(p for p in layers["detaljplan"] if p.beteckning == "2281-P67/1")
    assert str(plan.datumLagakraft) == "1967-11-17" and plan.genomforandetid == 15
    assert data["plan"] == {
        "beteckning": "2281-P67/1", "namn": plan.namn, "status": "laga kraft",
        "typ": plan.typ, "laga_kraft": True, "datum_lagakraft": "1967-11-17",
        "genomforandetid_ar": 15, "genomforandetid_slutar": "1982-11-17",
        "genomforandetid_utgangen": True, "overlap_m2": 100.0, "share_percent": 100.0}
    check = one(data, "plan")
    assert (check["status"], check["measured"], check["limit"], check["unit"]) == (
        "ok", 100.0, 100.0, "percent")
    assert "1982-11-17" in check["message"]
    assert [c["status"] for c in data["checks"]] == ["ok"] * len(data["checks"])
    assert one(data, "shoreline")["status"] == "ok"  # 3 km from the shore


def test_plan_that_has_not_gained_legal_force_needs_the_officer(client, demo_data, layers):
    draft = next(p for p in layers["detaljplan"] if p.beteckning == "2281-P81/3")
    assert draft.status == "antagen"
    inside = next(p for p in layers["registerenhetsomradesytor"]
                  if p.geometry.within(draft.geometry) and ":" not in p.etikett)
    c = inside.geometry.centroid
    data = checked(client, box(c.x - 2, c.y - 2, c.x + 2, c.y + 2))
    assert data["plan"]["beteckning"] == "2281-P81/3" and data["plan"]["laga_kraft"] is False
    assert data["plan"]["genomforandetid_slutar"] is None
    assert one(data, "plan")["status"] == "review"
    assert one(data, "neighbours")["status"] == "review"


def test_outside_a_plan_neighbours_must_be_heard(client, demo_data, layers):
    frost = [p for p in layers["registerenhetsomradesytor"]
             if p.trakt == "FRÖST" and p.block not in ("1", "S")]
    c = frost[0].geometry.centroid
    data = checked(client, box(c.x - 3, c.y - 3, c.x + 3, c.y + 3), height_m=5.0)
    assert data["plan"] is None
    assert [(c["code"], c["status"]) for c in data["checks"]] == [
        ("plan", "review"), ("shoreline", "ok"), ("neighbours", "review")]
    assert one(data, "plan")["measured"] == 0.0
    assert "PBL 9:25" in one(data, "neighbours")["text"] or "9 kap. 25 §" in one(
        data, "neighbours")["text"]


def test_two_area_property_counts_both_areas_and_their_buildings(client, demo_data, layers):
    """TOMMING 2:1 has two areas of 2,000 m² and three buildings (300 m²) on them."""
    ref = parcel(layers, "TOMMING 2:1>1").registerenhetsreferens
    both = [p.geometry for p in layers["registerenhetsomradesytor"]
            if p.registerenhetsreferens == ref]
    assert len(both) == 2
    # The municipality's old byggnadsplan has no e1: give it one over the property.
    plan = Plan.objects.get(beteckning="2281K-B1965/12")
    Regulation.objects.create(
        objektidentitet=uuid.uuid4(), source=Source.objects.get(name="sundsvall-planbestammelser"),
        synced_at=timezone.now(), content_hash="test", plan_objektidentitet=plan.objektidentitet,
        bestammelsekod=COVERAGE, beteckning="e1",
        bestammelseformulering="Största byggnadsarea är 15 procent av fastighetsarean",
        varde=15.0, geom=GEOSGeometry(shapely.union_all(both).wkt, srid=3006))
    x0, y0, _x1, _y1 = parcel(layers, "TOMMING 2:1>1").geometry.bounds
    shape = at(10.0, 20.0, 30.0, 30.0, origin=(x0, y0))
    built, percent = expected_coverage(layers, "TOMMING 2:1>1", shape)
    assert round(built, 2) == 500.0 and round(percent, 2) == 12.5
    data = checked(client, shape)
    check = one(data, "coverage")
    assert (check["status"], check["measured"], check["limit"]) == ("ok", 12.5, 15.0)
    assert "2 areas" in check["message"] or "2 områden" in check["message"]
    assert one(data, "plan")["status"] == "ok"
    assert data["plan"]["beteckning"] == "2281K-B1965/12"
    assert data["plan"]["genomforandetid_utgangen"] is None


def test_footprint_across_the_property_line_is_for_the_officer(client, demo_data, layers):
    # 3 m of it on the street west of ABBOTEN 1.
    shape = at(-3.0, 20.0, 5.0, 30.0)
    street = next(p for p in layers["registerenhetsomradesytor"]
                  if p.geometry.intersection(shape).area > 1 and p.etikett != "ABBOTEN 1")
    assert round(street.geometry.intersection(shape).area, 2) == 30.0
    check = one(checked(client, shape, height_m=5.0), "coverage")
    assert check["status"] == "review"
    assert street.etikett in check["message"]


def test_data_versions_name_the_syncs_read(client, demo_data):
    data = checked(client, at(2.0, 20.0, 12.0, 30.0))
    versions = data["data_versions"]
    for name in ("sundsvall-fastigheter", "sundsvall-byggnader", "sundsvall-detaljplaner",
                 "sundsvall-planbestammelser", "boverket-planbestammelsekatalogen"):
        run = SyncRun.objects.filter(source__name=name, outcome="succeeded").latest(
            "finished_at")
        assert versions[name]["sync_run"] == run.pk
        assert versions[name]["finished_at"] == run.finished_at.isoformat()
    assert versions["sundsvall-planbestammelser"]["layer"] == "regulations"
    assert not any(name.startswith("harnosand") for name in versions)


def test_one_footprint_reads_the_cache_in_a_few_queries(demo_data):
    """The parcels, plans, regulations, catalogue, the property's areas and buildings, and
    the data versions of every source in one query (not one query a source), which also
    tell whether the cache has shoreline data there."""
    footprint = GEOSGeometry(memoryview(shapely.to_wkb(at(2.0, 20.0, 12.0, 30.0))),
                             srid=3006)
    with CaptureQueriesContext(connection) as queries:
        report = footprint_check(footprint, height_m=5.0)
    assert report.facts.property is not None and report.facts.regulations
    assert len(report.data_versions) >= 5
    sql = [q["sql"] for q in queries.captured_queries]
    # Besides the nearest shoreline's widening search (the fixture has shorelines).
    assert len([q for q in sql if "geodata_shoreline" not in q]) <= 7, sql
    assert sum("geodata_syncrun" in q for q in sql) == 1, sql
    assert sum("geodata_plan" in q for q in sql) == 1, sql


def test_the_data_versions_are_those_the_orm_reads(demo_data):
    """``source_versions`` is one statement written out; it answers as the queryset."""
    from django.db.models import OuterRef, Q, Subquery

    from geodata.selectors import source_versions
    from permits.checks.measure import LAYERS

    source = Source.objects.filter(holds="plans").order_by("pk").first()
    assert source is not None
    now = timezone.now()
    SyncRun.objects.create(source=source, finished_at=now, outcome="succeeded",
                           source_version="v2")
    SyncRun.objects.create(source=source, finished_at=now, outcome="failed")
    Source.objects.filter(holds="regulations").update(enabled=False)
    for kommunkod in (None, "2281", "0180"):
        last = (SyncRun.objects.filter(source=OuterRef("pk"), outcome="succeeded")
                .order_by("-finished_at", "-pk"))
        sources = Source.objects.filter(enabled=True, holds__in=LAYERS).order_by("name")
        if kommunkod:
            sources = sources.filter(Q(municipality__isnull=True)
                                     | Q(municipality__kommunkod=kommunkod))
        expected = [(s.name, s.holds, s.run, s.run_at, s.run_version or "")
                    for s in sources.annotate(
                        run=Subquery(last.values("pk")[:1]),
                        run_at=Subquery(last.values("finished_at")[:1]),
                        run_version=Subquery(last.values("source_version")[:1]))]
        got = [(v.source, v.holds, v.sync_run, v.finished_at, v.source_version)
               for v in source_versions(LAYERS, kommunkod)]
        assert got == expected and expected, kommunkod
        # The plans source is the fixture municipality's: its newest good run is read.
        assert any(v[3] == now and v[4] == "v2" for v in got) == (kommunkod != "0180")


def test_lon_lat_input_gives_the_same_figures(client, demo_data):
    shape = at(18.3, 6.0 - 3.37, 24.1, 6.0 + 3.37)
    lonlat = to_srid(shape, 3006, 4326)
    data = checked(client, shape)
    other = post(client, lonlat, srid=4326).json()
    assert one(other, "no_building")["measured"] == pytest.approx(
        one(data, "no_building")["measured"], abs=0.02)


def test_open_without_login_or_csrf_token(demo_data, layers):
    from django.test import Client

    response = post(Client(enforce_csrf_checks=True), at(2.0, 20.0, 12.0, 30.0))
    assert response.status_code == 200


@pytest.mark.parametrize(("geometry", "code", "words"), [
    ({"type": "LineString", "coordinates": [[E0 + 1, N0 + 20], [E0 + 9, N0 + 20]]},
     "invalid_geometry", "Polygon"),
    ({"type": "Polygon", "coordinates": [[[E0, N0 + 20], [E0 + 9, N0 + 29], [E0 + 9, N0 + 20],
                                          [E0, N0 + 29], [E0, N0 + 20]]]},
     "invalid_geometry", "Self-intersection"),
    ({"type": "Polygon", "coordinates": [[[N0, E0], [N0 + 9, E0], [N0 + 9, E0 + 9],
                                          [N0, E0]]]},
     "crs_mismatch", "EPSG:3006"),
    ({"type": "Polygon"}, "invalid_geometry", ""),
])
def test_bad_geometry_is_refused_with_the_reason(client, demo_data, geometry, code, words):
    response = client.post("/api/v1/checks", json.dumps({"geometry": geometry, "srid": 3006}),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert words in response.json()["description"]


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"srid": 3006}',
    json.dumps({"geometry": mapping(at(2, 20, 12, 30)), "srid": 3006, "height_m": -1}).encode(),
    json.dumps({"geometry": mapping(at(2, 20, 12, 30)), "srid": 9999}).encode(),
])
def test_bad_requests_are_400(client, body):
    response = client.post("/api/v1/checks", body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"code", "description"}


def test_vertex_limit_applies(client, settings):
    settings.LOVKARTA_GEOMETRY_MAX_VERTICES = 4
    response = post(client, at(2.0, 20.0, 12.0, 30.0))
    assert response.status_code == 400 and response.json()["code"] == "too_many_vertices"


def test_the_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/cases/openapi.json").json()
    operation = document["paths"]["/api/v1/checks"]["post"]
    assert operation.get("security") in (None, [], [{}])
    assert "geometry" in json.dumps(operation["requestBody"])


# The rules on their own, with figures made up.

def facts(**overrides) -> Facts:
    plan = PlanFacts("2281-P16/8", "", "laga kraft", "detaljplan", date(2016, 11, 7), 15,
                     100.0, 100.0)
    values: dict = {"footprint_m2": 100.0, "plans": (plan,), "regulations": (),
                    "no_building_m2": 0.0, "property": None}
    values.update(overrides)
    return Facts(**values)


def test_implementation_period_running_and_on_a_leap_day():
    outcome = evaluate(facts(), tolerance=TOLERANCE, today=date(2026, 1, 1))
    assert outcome.plan.genomforandetid_slutar == date(2031, 11, 7)
    assert outcome.checks[0].status == Status.OK
    leap = PlanFacts("P", "", "laga kraft", "", date(2016, 2, 29), 5, 100.0, 100.0)
    assert leap.genomforandetid_slutar == date(2021, 2, 28)


def test_footprint_in_two_plans_or_partly_outside_is_for_the_officer():
    a = PlanFacts("A", "", "laga kraft", "", None, None, 60.0, 60.0)
    b = PlanFacts("B", "", "laga kraft", "", None, None, 40.0, 40.0)
    two = evaluate(facts(plans=(a, b)), tolerance=TOLERANCE, today=date(2026, 1, 1))
    assert two.plan == a and two.checks[0].status == Status.REVIEW
    partly = evaluate(facts(plans=(a,)), tolerance=TOLERANCE, today=date(2026, 1, 1))
    assert partly.checks[0].status == Status.REVIEW
    nearly = PlanFacts("C", "", "laga kraft", "", None, None, 99.5, 99.5)
    inside = evaluate(facts(plans=(nearly,)), tolerance=TOLERANCE, today=date(2026, 1, 1))
    assert inside.checks[0].status == Status.OK  # 0.5 m² outside is a sliver


def test_coverage_in_m2_and_unreadable_limits():
    prop = PropertyFacts("SUNDSVALL X 1", 1, 1000.0, 80.0, 230.0)
    m2 = RegulationFacts(COVERAGE, "e2", "Största byggnadsarea är 200 m²",
                         "Största byggnadsarea är [byggnadsarea:decimaltal] m²", None,
                         100.0, 100.0)
    check = evaluate(facts(regulations=(m2,), property=prop), tolerance=TOLERANCE,
                     today=date(2026, 1, 1)).checks[2]
    assert (check.status, check.measured, check.limit, check.unit) == (
        Status.FAIL, 230.0, 200.0, Unit.M2)
    datum = RegulationFacts(HEIGHT, "h2", "Högsta nockhöjd är +45.0 meter över nollplanet",
                            "Högsta nockhöjd är [nockhöjd:decimaltal] meter över nollplanet",
                            45.0, 100.0, 100.0)
    check = evaluate(facts(regulations=(datum,), height_m=6.0), tolerance=TOLERANCE,
                     today=date(2026, 1, 1)).checks[2]
    assert (check.code, check.status, check.limit) == ("height", Status.REVIEW, 45.0)


def test_formulations_are_read_against_the_catalogue():
    template = "Största byggnadsarea är [byggnadsarea:decimaltal] procent av fastighetsarean"
    assert read_value(template, "Största byggnadsarea är 12,5 procent av fastighetsarean") == 12.5
    assert limit_of("X", template, "", 30.0).unit == Unit.PERCENT
    assert limit_of("LEGACY_PRICK", "", "Mark som inte får bebyggas", None).kind == (
        Kind.NO_BUILDING)
    per_building = limit_of("X", "Största byggnadsarea är [a:decimaltal] m² per huvudbyggnad",
                            "", 150.0)
    assert per_building.judge and per_building.kind == Kind.COVERAGE
