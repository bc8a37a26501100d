"""Spatial questions against the demo municipality synced from the local OGC server."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Polygon
from hypothesis import given
from hypothesis import strategies as st

from fixtures import generate
from geodata.designation import DesignationError, normalise, parse
from geodata.models import Parcel
from geodata.selectors import (
    addresses_search,
    detail_report,
    neighbours,
    parcels_by_designation,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", [
    "SUNDSVALL TOMMING 2:6", "Tomming 2:6", "tomming 2 :6", "  tomming  2: 6 ",
    "Sundsvall Tomming 2:6>1",
])
def test_designation_is_found_however_it_is_typed(demo_data, typed):
    found = parcels_by_designation(typed)
    assert [p.beteckning for p in found] == ["SUNDSVALL TOMMING 2:6"]


def test_kvarter_without_block_and_prefix_completion(demo_data):
    assert [p.beteckning for p in parcels_by_designation("abboten 1")] == [
        "SUNDSVALL ABBOTEN 1"]
    completed = [p.beteckning for p in parcels_by_designation("abbo", limit=5)]
    assert completed == [f"SUNDSVALL ABBOTEN {n}" for n in range(1, 6)]
    assert parcels_by_designation("x") == []
    assert parcels_by_designation("FINNS INTE 1:1") == []


def test_multi_area_property_is_listed_once(demo_data):
    multi = Parcel.objects.filter(etikett__contains=">2").first()
    found = parcels_by_designation(multi.kort_beteckning)
    assert len(found) == 1 and found[0].omradesnummer == 1


def test_samfallighet_designation(demo_data):
    assert [p.beteckning for p in parcels_by_designation("tomming s:1")] == [
        "SUNDSVALL TOMMING S:1"]


@given(trakt=st.sampled_from(["TOMMING", "ABBOTEN", "ALNÖ-HOVID", "FRÖST"]),
       block=st.one_of(st.just(""), st.integers(1, 999).map(str), st.just("S"),
                       st.just("GA")),
       enhet=st.integers(1, 9999), area=st.one_of(st.none(), st.integers(1, 9)),
       lower=st.booleans(), spaces=st.sampled_from(["", " ", "  "]))
def test_designation_parsing_is_tolerant(trakt, block, enhet, area, lower, spaces):
    text = f"{trakt} {block}{spaces}:{spaces}{enhet}" if block else f"{trakt} {enhet}"
    if area:
        text += f">{area}"
    if lower:
        text = text.lower()
    parsed = parse(text)
    assert (parsed.name, parsed.block, parsed.enhet) == (trakt, block, str(enhet))
    assert normalise(str(parsed)) == str(parsed)


@pytest.mark.parametrize("bad", ["", "TOMMING", "2:6", "TOMMING 2:"])
def test_not_a_designation(bad):
    with pytest.raises(DesignationError):
        parse(bad)


def test_address_search_orders_house_numbers_as_numbers(demo_data):
    found = addresses_search("storgatan", limit=5)
    numbers = [int(a.adressplatsnummer) for a in found]
    assert numbers == sorted(numbers) and all(a.adressomrade == "Storgatan" for a in found)
    exact = addresses_search("Storgatan 11, Sundsvall")
    assert exact and exact[0].adress == "Storgatan 11"
    assert addresses_search("Storgatan 11")[0].registerenhetsreferens is not None


def test_detail_report_for_a_point_in_a_plan(demo_data):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL ABBOTEN 1")
    report = detail_report(parcel.geom.point_on_surface)
    assert [p.beteckning for p in report.parcels] == ["SUNDSVALL ABBOTEN 1"]
    assert len(report.plans) == 1 and report.plans[0].status
    by_code = {h.regulation.bestammelsekod: h for h in report.regulations}
    assert by_code["DP_KM_B2"].share_percent == pytest.approx(100.0)
    # The no-building strip along the street: 6 m of the 25 m front.
    prick = by_code["DP_KM_EG_UTF_MARK1"]
    assert prick.overlap_m2 == pytest.approx(25 * generate.PRICK_DEPTH, abs=0.01)
    assert prick.share_percent == pytest.approx(100 * 150 / 1000, abs=0.01)
    assert "DP_AP_GATA1" not in by_code  # the street only touches the parcel
    assert report.age.seconds is not None


def test_detail_report_for_a_drawn_footprint(demo_data):
    x0, y0 = generate.E0 + 5, generate.N0 + 2  # 4 m of its 10 m depth on prickmark
    footprint = Polygon.from_bbox((x0, y0, x0 + 12, y0 + 10))
    footprint.srid = 3006
    report = detail_report(footprint)
    prick = next(h for h in report.regulations
                 if h.regulation.bestammelsekod == "DP_KM_EG_UTF_MARK1")
    assert prick.overlap_m2 == pytest.approx(12 * 4, abs=0.01)
    assert prick.share_percent == pytest.approx(40.0, abs=0.01)


def test_outside_any_plan(demo_data):
    rural = Parcel.objects.filter(trakt="FRÖST", block="3").first()
    report = detail_report(rural.geom.point_on_surface)
    assert report.outside_plan and report.regulations == []


def test_legacy_plan_regulations(demo_data):
    parcel = Parcel.objects.filter(beteckning="SUNDSVALL TOMMING 2:6").first()
    report = detail_report(parcel.geom.point_on_surface)
    assert [p.beteckning for p in report.plans] == ["2281K-B1965/12"]
    assert {h.regulation.beteckning for h in report.regulations} == {"BFI", "PRICK"}


def test_neighbours_touching_and_across_the_street(demo_data):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL IDUN 6")
    found = neighbours(parcel)
    assert [p.beteckning for p in found.roads] == ["SUNDSVALL STENSTADEN 1:1"]
    touching = {p.beteckning for p in found.touching}
    assert {"SUNDSVALL IDUN 5", "SUNDSVALL IDUN 7", "SUNDSVALL IDUN 2"} <= touching
    assert "SUNDSVALL IDUN 8" not in touching
    across = {p.beteckning for p in found.across_road}
    assert "SUNDSVALL IDUN 8" not in across  # in the same block, behind IDUN 7
    kvarter = {b.split()[1] for b in across}
    assert len(kvarter) == 1 and "IDUN" not in kvarter  # the block across the street
