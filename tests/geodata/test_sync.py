"""Sync parcels from the real local MapServer over WFS 2.0 and OGC API Features."""

from __future__ import annotations

import pyogrio
import pytest

from fixtures import generate
from geodata.models import Parcel, Source, SyncRun
from geodata.sync import source_sync

pytestmark = pytest.mark.django_db


def abboten_1_corners() -> set[tuple[float, float]]:
    """The corners of SUNDSVALL ABBOTEN 1 as the generator lays it out (x = easting)."""
    x0, y0 = generate.E0, generate.N0
    w = generate.BLOCK_W / 4
    h = generate.BLOCK_H / 2
    return {(round(x, 3), round(y, 3)) for x in (x0, x0 + w) for y in (y0, y0 + h)}


def corners(parcel: Parcel) -> set[tuple[float, float]]:
    return {(round(x, 3), round(y, 3)) for x, y in parcel.geom[0][0].coords}


def fixture_ids(fixture_gpkg) -> list[str]:
    table = pyogrio.read_dataframe(fixture_gpkg, layer="registerenhetsomradesytor",
                                   columns=["objektidentitet"], read_geometry=False)
    return list(table["objektidentitet"])


@pytest.mark.parametrize("protocol,suffix,version", [
    ("wfs", "", "2.0.0"),
    ("ogcapi-features", "/ogcapi", ""),
])
def test_sync_stores_every_parcel_once_with_exact_coordinates(
        protocol, suffix, version, municipality, ogc_server, fixture_gpkg):
    source = Source.objects.create(
        name=f"t-{protocol}", protocol=protocol, version=version, url=ogc_server + suffix,
        layer="registerenhetsomradesytor", crs="EPSG:3006", holds="parcels",
        municipality=municipality,
        page_size=700)  # 700 does not divide the number of parcels
    expected = fixture_ids(fixture_gpkg)
    assert len(expected) % 700 != 0

    run = source_sync(source)

    assert run.outcome == SyncRun.Outcome.SUCCEEDED
    assert run.fetched == len(expected) and run.rejected == 0
    if protocol == "wfs":  # MapServer stamps its WFS answers (no ETag); OGC API not at all
        assert run.source_version.startswith("20")
    stored = list(Parcel.objects.filter(source=source).values_list("objektidentitet", flat=True))
    assert sorted(map(str, stored)) == sorted(expected)

    parcel = Parcel.objects.get(source=source, beteckning="SUNDSVALL ABBOTEN 1")
    # Easting about 616 thousand, northing about 6.92 million: the axes are not swapped.
    assert 600_000 < parcel.geom.centroid.x < 700_000
    assert 6_900_000 < parcel.geom.centroid.y < 6_950_000
    got = corners(parcel)
    want = abboten_1_corners()
    # To the millimetre, through whatever CRS the protocol used on the wire.
    assert got == want, f"{got} != {want}"
    assert parcel.geom.srid == 3006
    assert parcel.kommunkod == "2281" and parcel.trakt == "ABBOTEN" and parcel.block == ""


def test_resync_changes_nothing_and_removes_what_vanished(wfs_source):
    first = source_sync(wfs_source)
    assert first.added == first.fetched > 2000
    gone = Parcel.objects.create(
        objektidentitet="00000000-0000-4000-8000-000000000001",
        registerenhetsreferens="00000000-0000-4000-8000-000000000001", kommunkod="2281",
        kommunnamn="Sundsvall", trakt="BORTA", enhet="1", beteckning="SUNDSVALL BORTA 1",
        source=wfs_source, synced_at=first.finished_at, content_hash="x",
        geom=Parcel.objects.first().geom)

    second = source_sync(wfs_source)

    assert (second.added, second.changed, second.removed) == (0, 0, 1)
    assert not Parcel.objects.filter(pk=gone.pk).exists()
    assert Parcel.objects.filter(source=wfs_source).count() == first.fetched


def test_multi_area_property_keeps_both_areas(synced_parcels):
    mine = Parcel.objects.filter(source=synced_parcels.source)
    first = mine.filter(etikett__contains=">").order_by("beteckning", "omradesnummer").first()
    siblings = mine.filter(registerenhetsreferens=first.registerenhetsreferens)
    assert siblings.count() == 2
    assert {p.omradesnummer for p in siblings} == {1, 2}
    assert len({p.beteckning for p in siblings}) == 1
    assert not siblings[0].geom.touches(siblings[1].geom)


def test_failed_sync_is_recorded_and_keeps_the_cache(wfs_source, synced_parcels):
    before = Parcel.objects.count()
    wfs_source.layer = "finns_inte"
    wfs_source.save()
    from geodata.errors import SourceResponseError

    with pytest.raises(SourceResponseError) as caught:
        source_sync(wfs_source)
    assert "test-wfs" in str(caught.value)
    run = SyncRun.objects.filter(source=wfs_source).latest()
    assert run.outcome == SyncRun.Outcome.FAILED and "finns_inte" in run.error
    assert Parcel.objects.count() == before


ABBOTEN_BBOX = (generate.E0 - 1, generate.N0 - 1, generate.E0 + 101, generate.N0 + 81)


@pytest.mark.parametrize("version,crs", [
    ("2.0.0", "EPSG:3006"),
    ("2.0.0", "urn:ogc:def:crs:EPSG::3006"),
    ("2.0.0", "http://www.opengis.net/def/crs/EPSG/0/3006"),
    ("2.0.0", "EPSG:3014"),  # Sundsvall's local zone, SWEREF 99 17 15
    ("1.1.0", "EPSG:3006"),
    ("1.1.0", "urn:ogc:def:crs:EPSG::3014"),
])
def test_wfs_versions_and_crs_forms_give_the_same_corners(version, crs, municipality, ogc_server):
    from geodata.crs import point_to_srid, srid_of

    source = Source.objects.create(
        name=f"t-{version}-{crs[-4:]}", protocol="wfs", version=version, url=ogc_server,
        layer="registerenhetsomradesytor", crs=crs, holds="parcels", municipality=municipality,
        page_size=3)
    srid = srid_of(crs)
    (x0, y0), (x1, y1) = (point_to_srid(ABBOTEN_BBOX[0], ABBOTEN_BBOX[1], 3006, srid),
                          point_to_srid(ABBOTEN_BBOX[2], ABBOTEN_BBOX[3], 3006, srid))
    run = source_sync(source, bbox=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.removed == 0
    parcel = Parcel.objects.get(source=source, beteckning="SUNDSVALL ABBOTEN 1")
    assert corners(parcel) == abboten_1_corners()
    assert Parcel.objects.filter(source=source, trakt="ABBOTEN").count() == 8


def test_inspire_cadastral_parcels_preset(municipality, ogc_server):
    source = Source.objects.create(
        name="t-inspire", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="CadastralParcel", crs="EPSG:3006", holds="parcels", municipality=municipality,
        preset="inspire", page_size=500)
    run = source_sync(source, bbox=ABBOTEN_BBOX)
    assert run.rejected == 0
    parcel = Parcel.objects.get(source=source, beteckning="SUNDSVALL ABBOTEN 1")
    assert parcel.kommunkod == "2281" and parcel.trakt == "ABBOTEN" and parcel.block == ""
    assert corners(parcel) == abboten_1_corners()


def test_legacy_plan_presets(municipality, ogc_server):
    from geodata.models import Plan, Regulation

    plans = Source.objects.create(
        name="t-legacy-plans", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="dp_aldre", crs="EPSG:3006", holds="plans", municipality=municipality,
        preset="legacy")
    regs = Source.objects.create(
        name="t-legacy-regs", protocol="ogcapi-features", url=ogc_server + "/ogcapi",
        layer="dp_aldre_bestammelser", crs="EPSG:3006", holds="regulations",
        municipality=municipality, preset="legacy")
    source_sync(plans)
    source_sync(regs)
    plan = Plan.objects.get(source=plans)
    assert (plan.beteckning, plan.typ, plan.status) == ("2281K-B1965/12", "byggnadsplan",
                                                        "laga kraft")
    assert str(plan.datum_lagakraft) == "1965-06-18"
    by_code = {r.beteckning: r for r in Regulation.objects.filter(source=regs)}
    assert set(by_code) == {"BFI", "PRICK"}
    assert by_code["BFI"].plan_objektidentitet == plan.objektidentitet
    assert by_code["BFI"].bestammelseformulering.startswith("Bostadsändamål")
    assert by_code["PRICK"].bestammelsekod == "LEGACY_PRICK"


def test_invalid_ring_is_repaired_and_recorded():
    from shapely.geometry import Polygon as ShapelyPolygon

    from geodata.sources.geometry import as_multipolygon

    bowtie = ShapelyPolygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    fixed, repair = as_multipolygon(bowtie)
    assert fixed.is_valid and fixed.area == pytest.approx(50.0)
    assert "Self-intersection" in repair


def tomming_ids(fixture_gpkg) -> set[str]:
    table = pyogrio.read_dataframe(fixture_gpkg, layer="registerenhetsomradesytor",
                                   columns=["objektidentitet", "trakt"], read_geometry=False)
    return set(table[table["trakt"] == "TOMMING"]["objektidentitet"])


@pytest.mark.parametrize("protocol,suffix", [("wfs", ""), ("ogcapi-features", "/ogcapi")])
def test_attribute_filter(protocol, suffix, municipality, ogc_server, fixture_gpkg):
    source = Source.objects.create(
        name=f"t-filter-{protocol}", protocol=protocol, url=ogc_server + suffix,
        layer="registerenhetsomradesytor", holds="parcels", municipality=municipality,
        filter="trakt=TOMMING; kommunkod=2281", page_size=500)
    run = source_sync(source)
    stored = {str(i) for i in Parcel.objects.filter(source=source).values_list(
        "objektidentitet", flat=True)}
    assert stored == tomming_ids(fixture_gpkg) and run.rejected == 0


def test_attribute_filter_with_a_bbox(municipality, ogc_server):
    source = Source.objects.create(
        name="t-filter-bbox", protocol="wfs", url=ogc_server, layer="registerenhetsomradesytor",
        holds="parcels", municipality=municipality, filter="enhet=1")
    source_sync(source, bbox=ABBOTEN_BBOX)
    # The street parcel around the block has enhet 1 too; values stay text ("1", not 1.0).
    found = Parcel.objects.filter(source=source).order_by("beteckning")
    assert [(p.beteckning, p.block, p.enhet) for p in found] == [
        ("SUNDSVALL ABBOTEN 1", "", "1"), ("SUNDSVALL STENSTADEN 1:1", "1", "1")]


def test_unreadable_filter_fails_the_sync_clearly(municipality, ogc_server):
    from geodata.errors import UnsupportedSource

    source = Source.objects.create(
        name="t-filter-bad", protocol="wfs", url=ogc_server, layer="registerenhetsomradesytor",
        holds="parcels", municipality=municipality, filter="trakt TOMMING")
    with pytest.raises(UnsupportedSource, match="attribute filter: 'trakt TOMMING'"):
        source_sync(source)


def _count_elsewhere(source_id: int) -> int:
    """Count a source's parcels over a connection of its own, as another reader would."""
    from django.db import connection

    s = connection.settings_dict
    sql = f"SELECT count(*) FROM geodata_parcel WHERE source_id = {int(source_id)}"
    if connection.vendor == "sqlite":
        import sqlite3

        with sqlite3.connect(s["NAME"], timeout=5) as other:
            return int(other.execute(sql).fetchone()[0])
    import psycopg

    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                         user=s["USER"], dbname=s["NAME"]) as other:
        return int(other.execute(sql).fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_readers_never_see_half_a_sync(municipality, ogc_server):
    source = Source.objects.create(
        name="t-halfway", protocol="wfs", url=ogc_server, layer="registerenhetsomradesytor",
        holds="parcels", municipality=municipality, page_size=700)
    source_sync(source, bbox=ABBOTEN_BBOX)
    assert _count_elsewhere(source.pk) == 9
    seen_during: list[int] = []

    def progress(done: int, total: int | None) -> None:
        # Pages already written inside the sync's transaction: invisible to others.
        seen_during.append(_count_elsewhere(source.pk))

    run = source_sync(source, progress=progress)
    assert len(seen_during) >= 4 and set(seen_during) == {9}
    assert _count_elsewhere(source.pk) == run.fetched > 2000


def parcel_indexes() -> dict[str, str]:
    """The parcel table's indexes and foreign keys as this connection (and its
    transaction) sees them: name -> definition."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes "
                       "WHERE tablename = 'geodata_parcel' UNION ALL "
                       "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = 'geodata_parcel'::regclass AND contype = 'f'")
        return dict(cursor.fetchall())


def needs_postgis() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("index maintenance during a load is PostgreSQL's (SpatiaLite keeps them)")


def test_first_load_builds_plain_indexes_once_after_the_rows(municipality, ogc_server):
    """Into an empty table, the GiST and plain btree indexes and the foreign key are dropped
    for the load and made once at its end, as they were; the primary key and the unique
    constraint stay. Into a table with rows, nothing is dropped."""
    needs_postgis()
    Parcel.objects.all().delete()  # the demo's parcels (this test's transaction only)
    before = parcel_indexes()
    assert {"geodata_parcel_pkey", "parcel_one_per_source", "parcel_beteckning_idx",
            "geodata_parcel_source_id_9be8aadd_fk_geodata_source_id"} <= set(before)
    source = Source.objects.create(
        name="t-first-load", protocol="wfs", url=ogc_server, layer="registerenhetsomradesytor",
        holds="parcels", municipality=municipality, page_size=700)
    during: list[set[str]] = []
    run = source_sync(source, progress=lambda done, total: during.append(set(parcel_indexes())))

    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.added > 2000
    assert len(during) >= 3
    assert all(names == {"geodata_parcel_pkey", "parcel_one_per_source"} for names in during)
    assert parcel_indexes() == before  # the same names and definitions
    from geodata.selectors import parcel_at

    x, y = min(abboten_1_corners())
    assert parcel_at(x + 1, y + 1).beteckning == "SUNDSVALL ABBOTEN 1"  # through the GiST

    during.clear()
    source_sync(source, progress=lambda done, total: during.append(set(parcel_indexes())))
    assert during and all(names == set(before) for names in during)


def test_first_load_while_another_transaction_reads_keeps_the_indexes(municipality,
                                                                   ogc_server):
    """A first load takes the table only if nobody holds it: with a reader in the middle
    of a transaction it neither waits nor drops anything, and loads row by row."""
    needs_postgis()
    import psycopg
    from django.db import connection

    Parcel.objects.all().delete()  # the demo's parcels (this test's transaction only)
    before = parcel_indexes()
    s = connection.settings_dict
    source = Source.objects.create(
        name="t-first-load-busy", protocol="wfs", url=ogc_server,
        layer="registerenhetsomradesytor", holds="parcels", municipality=municipality,
        page_size=700)
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432,
                         user=s["USER"], dbname=s["NAME"]) as reader:
        reader.execute("SELECT count(*) FROM geodata_parcel").fetchone()  # holds it
        during: list[set[str]] = []
        run = source_sync(source, progress=lambda done, total: during.append(
            set(parcel_indexes())))
        reader.rollback()
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.added > 2000
    assert during and all(names == set(before) for names in during)
    assert parcel_indexes() == before


def test_a_sync_leaves_the_garbage_collector_as_it_found_it(wfs_source):
    """A sync runs the collector less often and freezes older objects: only meanwhile."""
    import gc

    before = gc.get_threshold(), gc.get_freeze_count()
    source_sync(wfs_source, bbox=ABBOTEN_BBOX)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
