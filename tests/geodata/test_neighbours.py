"""Neighbours to hear (sakägare): touching (a corner is enough), directly across a street
or road, within an extra distance; the applicant's own areas left out.

The expected sets are computed here, independently, with shapely on the fixture's own
layers (read with Django's GDAL): a street is a parcel mostly under a GATA regulation, or,
where no regulation covers it, the district's street land (the parcel with a hole for
every block). A synthetic quarter (its own source) shows the street recognised by what the
plan says, not by its shape.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest
import shapely
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry
from django.utils import timezone
from shapely.geometry import MultiPolygon, box

from geodata.crs import STORAGE_SRID
from geodata.models import Address, Parcel, Regulation, Source
from geodata.selectors import neighbours
from tests.conftest import FIXTURE

pytestmark = pytest.mark.django_db

TOUCH = 0.01
STREET_WIDTH = 12.0


class Property:
    """A property of the fixture: its designation and its areas."""

    def __init__(self, designation: str) -> None:
        self.designation = designation
        self.areas: list[shapely.Geometry] = []

    @property
    def shape(self) -> shapely.Geometry:
        return shapely.union_all(self.areas)


@pytest.fixture(scope="module")
def fixture_world() -> dict[str, Any]:
    """The fixture's properties (by reference) and which of them are streets."""
    source = DataSource(str(FIXTURE))
    properties: dict[str, Property] = {}
    for f in source["registerenhetsomradesytor"]:
        label = f.get("etikett").split(">")[0]
        prop = properties.setdefault(f.get("registerenhetsreferens"), Property(
            f"{f.get('kommunnamn').upper()} {label}"))
        prop.areas.append(shapely.from_wkb(bytes(f.geom.wkb)))
    regulations = [(f.get("beteckning"), shapely.from_wkb(bytes(f.geom.wkb)))
                   for f in source["planbestammelse"]]
    regulations += [(f.get("CATEGORY"), shapely.from_wkb(bytes(f.geom.wkb)))
                    for f in source["dp_aldre_bestammelser"]]
    gata = shapely.union_all([g for b, g in regulations if b == "GATA"])
    covered = shapely.union_all([g for _b, g in regulations])
    streets = set()
    for ref, prop in properties.items():
        shape = prop.shape
        if shape.intersection(gata).area >= 0.5 * shape.area:
            streets.add(ref)
        elif (shape.intersection(covered).area < 0.5 * shape.area
              and any(len(p.interiors) for p in getattr(shape, "geoms", [shape]))):
            streets.add(ref)  # outside the plans: the street land has a hole per block
    return {"properties": properties, "streets": streets}


def ref_of(world: dict[str, Any], designation: str) -> str:
    return next(r for r, p in world["properties"].items() if p.designation == designation)


def expected(world: dict[str, Any], designation: str, extra_m: float = 0.0
             ) -> dict[str, set[str]]:
    """The neighbours of a property, by relation, computed from the fixture layers."""
    properties, streets = world["properties"], world["streets"]
    own_ref = ref_of(world, designation)
    own = properties[own_ref].shape
    street_land = shapely.union_all([properties[r].shape for r in streets])
    out: dict[str, set[str]] = defaultdict(set)
    for ref, prop in properties.items():
        if ref == own_ref or ref in streets:
            continue
        shape = prop.shape
        d = shape.distance(own)
        if d < TOUCH:
            out["touching"].add(prop.designation)
            continue
        line = shapely.shortest_line(own, shape)
        if (d <= STREET_WIDTH + 0.5
                and street_land.contains(line.interpolate(0.5, normalized=True))):
            out["across_road"].add(prop.designation)
        elif d <= extra_m:
            out["nearby"].add(prop.designation)
    return dict(out)


def found_sets(parcel: Parcel, extra_m: float = 0.0) -> dict[str, set[str]]:
    found = neighbours(parcel, extra_m=extra_m)
    out: dict[str, set[str]] = defaultdict(set)
    for entry in found.properties:
        out[entry.relation].add(entry.designation)
    return dict(out)


def test_a_parcel_touching_only_at_a_corner_is_a_neighbour(demo_data, fixture_world):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL IDUN 6")
    props = fixture_world["properties"]
    corner = props[ref_of(fixture_world, "SUNDSVALL IDUN 1")].shape.intersection(
        props[ref_of(fixture_world, "SUNDSVALL IDUN 6")].shape)
    assert corner.geom_type == "Point"  # they meet at one corner only
    want = expected(fixture_world, "SUNDSVALL IDUN 6")
    assert "SUNDSVALL IDUN 1" in want["touching"]
    assert found_sets(parcel) == want


def test_neighbours_across_a_street_recognised_by_its_gata_regulation(demo_data,
                                                                     fixture_world):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL IDUN 6")
    found = neighbours(parcel)
    assert [(r.beteckning, found.road_basis[r.pk]) for r in found.roads] == [
        ("SUNDSVALL STENSTADEN 1:1", "plan")]
    want = expected(fixture_world, "SUNDSVALL IDUN 6")
    assert want["across_road"] and {p.beteckning for p in found.across_road} == want[
        "across_road"]
    # Each neighbour carries its municipality and the addresses on it.
    for entry in found.properties:
        assert entry.kommunkod == "2281"
        on_it = Address.objects.filter(registerenhetsreferens=entry.registerenhetsreferens)
        assert sorted(entry.addresses) == sorted(
            f"{a.adress}, {a.postnummer} {a.postort}" for a in on_it)
    assert any(entry.addresses for entry in found.properties)


def test_a_two_area_property_hears_the_neighbours_of_both_areas(demo_data, fixture_world):
    parcel = Parcel.objects.filter(beteckning="SUNDSVALL FRÖST 12:3").first()
    areas = Parcel.objects.filter(registerenhetsreferens=parcel.registerenhetsreferens)
    assert areas.count() == 2
    found = neighbours(parcel)
    assert [(r.beteckning, found.road_basis[r.pk]) for r in found.roads] == [
        ("SUNDSVALL FRÖST 1:1", "shape")]  # outside the plans, the shape decides
    got = found_sets(parcel)
    assert got == expected(fixture_world, "SUNDSVALL FRÖST 12:3")
    assert "SUNDSVALL FRÖST 12:3" not in set().union(*got.values())
    # Both areas have neighbours of their own.
    for area in areas:
        shape = shapely.from_wkb(bytes(area.geom.wkb))
        assert any(shapely.from_wkb(bytes(p.geom.wkb)).distance(shape) < TOUCH
                   for p in found.touching)


def test_the_extra_distance(demo_data, fixture_world):
    parcel = Parcel.objects.get(beteckning="SUNDSVALL IDUN 6")
    want = expected(fixture_world, "SUNDSVALL IDUN 6", extra_m=60.0)
    assert len(want["nearby"]) > 3
    assert found_sets(parcel, extra_m=60.0) == want
    with pytest.raises(ValueError, match="extra_m"):
        neighbours(parcel, extra_m=-1)


# A quarter of our own, far from the fixture: the applicant's plot A; east of it G, a
# compact parcel the plan says is street (GATA), and C beyond it; north of it T, a long
# thin strip the plan says is housing (B), and D beyond it.
ORIGIN = (640_000.0, 6_990_000.0)


def at(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return box(ORIGIN[0] + x0, ORIGIN[1] + y0, ORIGIN[0] + x1, ORIGIN[1] + y1)


def geos(shape: shapely.Geometry) -> GEOSGeometry:
    multi = shape if isinstance(shape, MultiPolygon) else MultiPolygon([shape])
    return GEOSGeometry(memoryview(shapely.to_wkb(multi)), srid=STORAGE_SRID)


@pytest.fixture
def quarter(db) -> dict[str, Any]:
    now = timezone.now()
    source = Source.objects.create(name="test-kvarter", protocol="wfs", url="http://x.invalid",
                                   holds="parcels")
    plans = Source.objects.create(name="test-kvarter-plan", protocol="wfs",
                                  url="http://x.invalid", holds="regulations")
    shapes = {"A": at(0, 0, 30, 30), "G": at(30, 0, 45, 30), "C": at(45, 0, 75, 30),
              "T": at(-100, 30, 130, 32), "D": at(0, 32, 30, 62)}
    parcels = {}
    for n, (name, shape) in enumerate(shapes.items(), start=1):
        parcels[name] = Parcel.objects.create(
            objektidentitet=uuid.uuid4(), source=source, synced_at=now, content_hash="x",
            registerenhetsreferens=uuid.uuid4(), objekttyp="Fastighet", kommunkod="2281",
            kommunnamn="Sundsvall", trakt="PROVET", enhet=str(n), etikett=f"PROVET {n}",
            beteckning=f"SUNDSVALL PROVET {name}", kort_beteckning=f"PROVET {name}",
            geom=geos(shape))
    regulations = {}
    for name, beteckning, form in (("G", "GATA", "allmän plats"), ("T", "B", "kvartersmark")):
        regulations[name] = Regulation.objects.create(
            objektidentitet=uuid.uuid4(), source=plans, synced_at=now, content_hash="x",
            bestammelsetyp="användning", anvandningsform=form, beteckning=beteckning,
            geom=geos(shapes[name]))
    compactness = {n: 4 * 3.141592653589793 * s.area / s.length ** 2
                   for n, s in shapes.items()}
    assert compactness["G"] > 0.5 and compactness["T"] < 0.05  # square-ish, and a strip
    return {"parcels": parcels, "regulations": regulations}


def test_a_street_is_what_the_plan_says_not_its_shape(quarter):
    p = quarter["parcels"]
    found = neighbours(p["A"])
    assert [r.beteckning for r in found.roads] == ["SUNDSVALL PROVET G"]
    assert found.road_basis[p["G"].pk] == "plan"
    assert [x.beteckning for x in found.across_road] == ["SUNDSVALL PROVET C"]
    assert [x.beteckning for x in found.touching] == ["SUNDSVALL PROVET T"]
    assert "SUNDSVALL PROVET D" not in {e.designation for e in found.properties}


def test_outside_a_plan_the_shape_decides(quarter):
    p = quarter["parcels"]
    quarter["regulations"]["T"].delete()  # no regulation says what the strip is
    found = neighbours(p["A"])
    assert {r.beteckning: found.road_basis[r.pk] for r in found.roads} == {
        "SUNDSVALL PROVET G": "plan", "SUNDSVALL PROVET T": "shape"}
    # Directly across each road, each at its own width (2 m and 15 m).
    assert sorted(x.beteckning for x in found.across_road) == [
        "SUNDSVALL PROVET C", "SUNDSVALL PROVET D"]
    assert found.touching == []
