"""Paging to the end against servers configured as real ones are: page caps below, at and
above our page size, counts that are and are not multiples of the cap, capped hit counts,
``numberMatched="unknown"``, servers that ignore COUNT or write no ``next`` links. Every
parcel is stored exactly once with its coordinates to the millimetre, or the sync fails
loudly and the cache stays as it was."""

from __future__ import annotations

import pyogrio
import pytest
import shapely

from geodata.errors import IncompleteRead, SourceUnavailable
from geodata.models import Parcel, Source, SyncRun
from geodata.sources.paging import PageRules, ServerCount, next_start
from geodata.sync import source_sync
from tests.geodata.faults import FaultServer

LAYER = "registerenhetsomradesytor"


# -- The rules, table-tested ---------------------------------------------------------------

@pytest.mark.parametrize("size,next_links,cap,pages,ends_after", [
    # MapServer capping at 500 (CountDefault says so) over 2,826: the last page is short.
    (10_000, True, 500, [(500, True), (500, True), (500, True), (500, True), (500, True),
                         (326, False)], 6),
    # The same count without CountDefault: the next links teach the cap.
    (10_000, True, None, [(500, True)] * 5 + [(326, False)], 6),
    # An exact multiple of the cap: the last full page still has a next link, then empty.
    (10_000, True, 500, [(500, True), (500, True), (0, False)], 3),
    # A full page without a next link is not known to be the last: ask once more.
    (500, True, None, [(500, False), (0, False)], 2),
    # No next links, no cap advertised: a short first page may be the cap; an empty page ends.
    (10_000, True, None, [(500, False), (500, False), (26, False)], 3),
    # ...and once a full page at that size was seen, a short page without a link ends.
    (10_000, True, None, [(500, False), (500, False), (500, False), (26, False)], 4),
    # WFS 1.1 (no next links at all): only an empty page ends paging.
    (10_000, False, 500, [(500, False), (326, False), (0, False)], 3),
    # A server that ignores COUNT and gives its own 1,000 a page.
    (300, True, None, [(1000, True), (1000, True), (826, False)], 3),
    # A page size of one: a full last page without a next link is confirmed by an empty one.
    (1, True, None, [(1, True), (1, True), (1, False), (0, False)], 4),
    # Fewer than a page: the server says it has ended.
    (1000, True, 10_000, [(9, False)], 1),
])
def test_paging_ends_only_where_the_server_says(size, next_links, cap, pages, ends_after):
    rules = PageRules(size, next_links=next_links)
    rules.server_cap(cap)
    start, read = 0, 0
    for number, (returned, has_next) in enumerate(pages, start=1):
        following = rules.after(start, returned, has_next,
                                start + returned if has_next else None)
        read += returned
        if following is None:
            assert number == ends_after, f"ended after page {number}"
            break
        assert following == start + returned  # nothing skipped, nothing read twice
        start = following
    else:
        pytest.fail("paging did not end")


def test_a_next_link_says_where_the_next_page_starts():
    assert next_start("http://x/wfs?SERVICE=WFS&amp;COUNT=10000&amp;STARTINDEX=500") == 500
    assert next_start("http://x/wfs?startIndex=7&count=1") == 7
    assert next_start("http://x/wfs?SERVICE=WFS") is None and next_start(None) is None
    rules = PageRules(10_000, next_links=True)
    # The server stepped by 500 although the page held 498 (two features it could not write).
    assert rules.after(0, 498, True, 500) == 500 and rules.size == 500


@pytest.mark.parametrize("hits,cap,read,exact,problem", [
    (500, 500, 2826, False, None),  # MapServer's capped hits: a lower bound
    (500, 500, 300, False, "at least 500 features but 300 were read"),
    (2826, 500, 2826, True, None),  # a server that counts past its cap
    (2826, 500, 1000, True, "counted 2826 features but 1000 were read"),
    (2826, None, 2827, True, "counted 2826 features but 2827 were read"),
    (None, 500, 10, False, None),  # no count at all: "unknown"
])
def test_a_capped_or_absent_count_is_never_a_total(hits, cap, read, exact, problem):
    count = ServerCount.from_hits(hits, cap)
    assert count.exact is exact
    assert (count.total is not None) is exact
    shortfall = count.shortfall(read)
    assert (shortfall is None) if problem is None else (problem in shortfall)


def test_a_count_reached_by_a_full_page_is_a_lower_bound_if_the_cap_is_unknown():
    count = ServerCount.from_hits(1000, cap=None)
    assert count.reached(1000, full_page=False) == count  # the last page: a total
    assert count.reached(1000, full_page=True).describe() == "at least 1000"
    assert count.reached(1001, full_page=False).describe() == "at least 1000"
    # With the cap known, a count below it is a total: reading past it is a disagreement.
    firm = ServerCount.from_hits(1000, cap=10_000)
    assert firm.reached(1000, full_page=True) == firm
    assert "counted 1000 features but 1001 were read" in firm.reached(1001, False).shortfall(1001)
    assert ServerCount().describe() == "unknown"


# -- Real servers ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def source_geometries(fixture_gpkg):
    """Every demo parcel's geometry as the server holds it, by objektidentitet."""
    frame = pyogrio.read_dataframe(fixture_gpkg, layer=LAYER, columns=["objektidentitet"])
    return dict(zip(frame["objektidentitet"], frame.geometry.values, strict=True))


def assert_every_parcel_once_to_the_mm(source, expected_ids, source_geometries):
    """The cache holds exactly the server's parcels, once each, every vertex within 1 mm."""
    stored = list(Parcel.objects.filter(source=source).values_list("objektidentitet", "geom"))
    ids = [str(oid) for oid, _ in stored]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(expected_ids)
    got = shapely.from_wkb([bytes(geom.wkb) for _, geom in stored])
    want = [source_geometries[i] for i in ids]
    distance = shapely.hausdorff_distance(shapely.normalize(got), shapely.normalize(want))
    assert float(distance.max()) < 0.001, f"a vertex is {distance.max():.4f} m off"
    vertices = shapely.get_num_coordinates
    assert (vertices(got) == vertices(want)).all()


def wfs_source(name, url, municipality, crs="EPSG:3006", version="2.0.0", page_size=10_000):
    return Source.objects.create(name=name, protocol="wfs", version=version, url=url,
                                 layer=LAYER, crs=crs, holds="parcels",
                                 municipality=municipality, page_size=page_size)


@pytest.mark.django_db
@pytest.mark.parametrize("cap,count,crs,page_size,said", [
    # The reported scenario: pages capped at 500, a few thousand areas, a local zone on the
    # wire (northing first), hits capped at 500, numberMatched "unknown" on full pages.
    (500, 2826, "EPSG:3014", 10_000, "2826"),
    (500, 1000, "EPSG:3014", 10_000, "at least 500"),  # an exact multiple of the cap
    (499, 2826, "EPSG:3006", 10_000, "2826"),
    (499, 998, "EPSG:3006", 10_000, "at least 499"),  # an exact multiple of the cap
    (500, 2826, "EPSG:3006", 500, "2826"),  # the cap equal to our page size
    (10_000, 2826, "EPSG:3014", 700, "2826"),  # the cap above our page size
    (1, 5, "EPSG:3006", 10_000, "at least 1"),  # a cap of one
    (10_000, 5, "EPSG:3014", 1, "5"),  # a page size of one
])
def test_wfs_reads_every_page_whatever_the_cap(cap, count, crs, page_size, said, municipality,
                                               capped_server, parcel_subset, source_geometries):
    data = parcel_subset(count)
    url = capped_server(cap, data)
    source = wfs_source(f"cap-{cap}-{count}-{crs[-4:]}-{page_size}", url, municipality, crs,
                        page_size=page_size)
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED
    assert run.fetched == count and run.rejected == 0
    assert run.server_said == said
    ids = list(pyogrio.read_dataframe(data, layer=LAYER, columns=["objektidentitet"],
                                      read_geometry=False)["objektidentitet"])
    assert_every_parcel_once_to_the_mm(source, ids, source_geometries)


@pytest.mark.django_db
@pytest.mark.parametrize("crs", ["EPSG:3014", "urn:ogc:def:crs:EPSG::3006"])
def test_wfs_1_1_pages_on_to_an_empty_page(crs, municipality, capped_server, fixture_gpkg,
                                           source_geometries):
    source = wfs_source(f"wfs11-{crs[-4:]}", capped_server(500), municipality, crs,
                        version="1.1.0")
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.fetched == 2826
    assert_every_parcel_once_to_the_mm(source, list(source_geometries), source_geometries)


@pytest.mark.django_db
@pytest.mark.parametrize("cap,count,said", [(500, 2826, "2826"), (500, 1000, "1000"),
                                            (1, 3, "3")])
def test_ogc_api_follows_next_links_past_a_capped_limit(cap, count, said, municipality,
                                                        capped_server, parcel_subset,
                                                        source_geometries):
    data = parcel_subset(count)
    source = Source.objects.create(
        name=f"oapif-cap-{cap}-{count}", protocol="ogcapi-features",
        url=capped_server(cap, data) + "/ogcapi", layer=LAYER, holds="parcels",
        municipality=municipality, page_size=10_000)
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.fetched == count
    assert run.server_said == said  # numberMatched: a check that held
    ids = list(pyogrio.read_dataframe(data, layer=LAYER, columns=["objektidentitet"],
                                      read_geometry=False)["objektidentitet"])
    assert_every_parcel_once_to_the_mm(source, ids, source_geometries)


@pytest.fixture(scope="module")
def capped_faults(capped_server):
    """The fault server in front of MapServer capping pages at 500 (hits capped too)."""
    server = FaultServer(capped_server(500))
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def counting_faults(capped_server):
    """The fault server in front of MapServer capping pages at 500 and counting exactly."""
    server = FaultServer(capped_server(500, exact_hits=True))
    yield server
    server.shutdown()


@pytest.mark.django_db
@pytest.mark.parametrize("fault,page_size,version", [
    ("nocount", 300, "2.0.0"),  # ignores COUNT: 500 a page whatever we ask
    ("nocount", 10_000, "1.1.0"),  # ignores MAXFEATURES
    ("nocaps", 10_000, "2.0.0"),  # no CountDefault: the next links teach the cap
    ("nonext", 10_000, "2.0.0"),  # no next links: page on to an empty page
    ("nonext", 700, "2.0.0"),
])
def test_servers_that_page_their_own_way(fault, page_size, version, municipality,
                                         capped_faults, source_geometries):
    source = wfs_source(f"{fault}-{page_size}-{version}", f"{capped_faults.url}/{fault}/lovkarta",
                        municipality, "EPSG:3014", version=version, page_size=page_size)
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.fetched == 2826
    assert_every_parcel_once_to_the_mm(source, list(source_geometries), source_geometries)


@pytest.fixture
def last_good(municipality, capped_server):
    """A source holding the whole layer from a good sync."""
    source = wfs_source("last-good", capped_server(500), municipality)
    source_sync(source)
    assert Parcel.objects.filter(source=source).count() == 2826
    return source


def cache_of(source):
    return sorted(Parcel.objects.filter(source=source).values_list("objektidentitet",
                                                                  "content_hash"))


@pytest.mark.django_db
@pytest.mark.parametrize("protocol,suffix", [("wfs", ""), ("ogcapi-features", "/ogcapi")])
def test_a_sync_that_cannot_read_to_the_end_fails_and_keeps_the_cache(
        protocol, suffix, last_good, counting_faults):
    before = cache_of(last_good)
    last_good.protocol = protocol
    last_good.url = f"{counting_faults.url}/shortstop/lovkarta{suffix}"
    last_good.save()
    with pytest.raises(IncompleteRead) as caught:
        source_sync(last_good)
    message = str(caught.value)
    assert message.startswith("last-good: the server counted 2826 features but 1000 were read")
    assert "not read to the end" in message
    run = SyncRun.objects.filter(source=last_good).latest()
    assert run.outcome == SyncRun.Outcome.FAILED and "2826" in run.error
    assert cache_of(last_good) == before  # nothing removed, nothing changed


@pytest.mark.django_db
def test_a_source_that_dies_mid_layer_fails_and_keeps_the_cache(last_good, capped_faults,
                                                                settings):
    settings.LOVKARTA_SOURCE_RETRIES = 1
    settings.LOVKARTA_SOURCE_BACKOFF = 0.01
    before = cache_of(last_good)
    last_good.url = f"{capped_faults.url}/dies/lovkarta"
    last_good.save()
    with pytest.raises(SourceUnavailable, match="last-good: HTTP 503"):
        source_sync(last_good)
    assert cache_of(last_good) == before
