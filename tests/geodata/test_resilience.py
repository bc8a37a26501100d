"""Every failure of a source gives a clear error and leaves the last good data in place."""

from __future__ import annotations

import pytest

from geodata.errors import SourceResponseError, SourceUnavailable
from geodata.models import Parcel, Source, SyncRun
from geodata.sources.base import SourceSpec
from geodata.sources.http import HTTPPolicy, SourceHTTP
from geodata.sync import source_sync
from tests.geodata.faults import FaultServer
from tests.geodata.test_sync import ABBOTEN_BBOX

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def faults(ogc_server):
    server = FaultServer(ogc_server)
    yield server
    server.shutdown()


@pytest.fixture
def quick(settings):
    settings.LOVKARTA_SOURCE_READ_TIMEOUT = 1.0
    settings.LOVKARTA_SOURCE_RETRIES = 2
    settings.LOVKARTA_SOURCE_BACKOFF = 0.01
    settings.LOVKARTA_SOURCE_MAX_BYTES = 1024 * 1024
    return settings


@pytest.fixture
def good(municipality, ogc_server, quick):
    """A source synced once from the real server: the last good data."""
    source = Source.objects.create(
        name="resilient", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="registerenhetsomradesytor", crs="EPSG:3006", holds="parcels",
        municipality=municipality)
    source_sync(source, bbox=ABBOTEN_BBOX)
    assert Parcel.objects.filter(source=source).count() == 9
    return source


def sync_through(source, faults, fault, protocol="wfs"):
    source.url = f"{faults.url}/{fault}/lovkarta" + ("/ogcapi" if protocol != "wfs" else "")
    source.protocol = protocol
    source.save()
    return source_sync(source, bbox=ABBOTEN_BBOX)


@pytest.mark.parametrize("fault,error,message", [
    ("slow", SourceUnavailable, "no answer in time"),
    # More refusals than every request of a sync can retry (requests run concurrently).
    ("flaky-50", SourceUnavailable, "HTTP 503"),
    ("busy-50", SourceUnavailable, "HTTP 429"),
    ("exception", SourceResponseError, "Database connection lost"),
    ("truncated", SourceResponseError, "truncated"),
    ("xxe", SourceResponseError, "document type declaration is refused"),
    ("bomb", SourceResponseError, "document type declaration is refused"),
    ("huge", SourceResponseError, "larger than the 1 MB cap"),
    ("redirect", SourceResponseError, "not the registered host"),
    ("miscount", SourceResponseError, "counted 10 features but 9 were read"),
])
def test_failure_is_clear_and_keeps_the_cache(good, faults, fault, error, message):
    before = sorted(Parcel.objects.filter(source=good).values_list("objektidentitet", "geom"))
    with pytest.raises(error, match=message) as caught:
        sync_through(good, faults, fault)
    assert str(caught.value).startswith("resilient: ")  # names the source that failed
    run = SyncRun.objects.filter(source=good).latest()
    assert run.outcome == SyncRun.Outcome.FAILED and message in run.error
    after = sorted(Parcel.objects.filter(source=good).values_list("objektidentitet", "geom"))
    assert after == before
    assert not Parcel.objects.filter(etikett__contains="root:").exists()


@pytest.mark.parametrize("fault", ["flaky-2", "busy-2"])
def test_transient_errors_are_retried(good, faults, fault):
    run = sync_through(good, faults, fault)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.fetched == 9
    assert faults.hits[fault] >= 3  # two refusals, then the page (and the next, ahead)


def test_unstable_paging_is_paged_again_sorted(good, faults, caplog):
    """Pages come in the server's own order (sorting is dear); when that order repeats a
    feature, the attempt is rolled back and the layer paged again, sorted by identity."""
    good.page_size = 4  # pages of 4, 4 and 1 of the 9 parcels
    run = sync_through(good, faults, "unstable")
    assert run.outcome == SyncRun.Outcome.SUCCEEDED
    assert (run.fetched, run.added, run.removed) == (9, 0, 0)
    assert Parcel.objects.filter(source=good).count() == 9
    assert "came twice while paging" in caplog.text
    assert "paging again, sorted by identity" in caplog.text
    assert faults.hits["unstable-sorted"] >= 3


def test_next_link_to_another_host_is_not_followed(good, faults):
    with pytest.raises(SourceResponseError, match="not the registered host"):
        sync_through(good, faults, "nextlink", protocol="ogcapi-features")


def test_unregistered_url_is_refused():
    http = SourceHTTP("kommunen", "https://gis.example.se/wfs", HTTPPolicy())
    with pytest.raises(SourceResponseError, match="refused to fetch http://127.0.0.1"):
        http.get("http://127.0.0.1:8081/lovkarta")


def test_circuit_opens_after_repeated_failures(good, faults):
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            sync_through(good, faults, "flaky-99")
    hits = faults.hits["flaky-99"]
    good.refresh_from_db()
    assert good.consecutive_failures == 3 and good.circuit_open_until is not None
    with pytest.raises(SourceUnavailable, match="skipped after 3 failures"):
        source_sync(good)
    assert faults.hits["flaky-99"] == hits  # the source was left alone
    good.refresh_from_db()
    assert good.consecutive_failures == 3  # a skipped run is not a new failure


def test_adapter_spec_needs_no_database():
    spec = SourceSpec(name="x", protocol="wfs", url="http://127.0.0.1:1/x", layer="y")
    assert spec.crs == "EPSG:3006"


def test_oauth2_client_credentials_from_the_environment(good, faults, monkeypatch):
    monkeypatch.setenv("LM_CLIENT_ID", "klient")
    monkeypatch.setenv("LM_CLIENT_SECRET", "hemlig")
    monkeypatch.setenv("LM_TOKEN_URL", f"{faults.url}/token")
    good.auth, good.credentials_env = "oauth2", "LM"
    run = sync_through(good, faults, "bearer")
    assert run.outcome == SyncRun.Outcome.SUCCEEDED and run.fetched == 9
    assert faults.hits["token"] >= 1
    monkeypatch.setenv("LM_CLIENT_SECRET", "fel")
    with pytest.raises(SourceUnavailable, match="refused the client credentials") as caught:
        sync_through(good, faults, "bearer")
    assert "fel" not in str(caught.value)


def test_basic_auth_and_refused_credentials(good, faults, monkeypatch):
    monkeypatch.setenv("KOMMUN_USER", "anna")
    monkeypatch.setenv("KOMMUN_PASSWORD", "losen-123")
    good.auth, good.credentials_env = "basic", "KOMMUN"
    assert sync_through(good, faults, "basic").fetched == 9
    monkeypatch.setenv("KOMMUN_PASSWORD", "gissat")
    with pytest.raises(SourceUnavailable, match="HTTP 401: the source refused our credentials"):
        sync_through(good, faults, "basic")


def test_half_configured_credentials_fail_loudly(good, faults, monkeypatch):
    monkeypatch.delenv("HALV_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("HALV_CLIENT_ID", "x")
    good.auth, good.credentials_env = "oauth2", "HALV"
    from geodata.errors import UnsupportedSource

    with pytest.raises(UnsupportedSource, match="HALV_CLIENT_SECRET, HALV_TOKEN_URL not set"):
        sync_through(good, faults, "bearer")


def test_failed_first_load_keeps_the_indexes(municipality, faults, quick):
    """A first load drops the table's plain indexes and foreign key while it writes; when
    it fails after writing pages, the rollback brings them back with the empty table."""
    from tests.geodata.test_sync import needs_postgis, parcel_indexes

    needs_postgis()
    Parcel.objects.all().delete()  # the demo's parcels (this test's transaction only)
    before = parcel_indexes()
    source = Source.objects.create(
        name="first-load", protocol="wfs", version="2.0.0", url=faults.url,
        layer="registerenhetsomradesytor", crs="EPSG:3006", holds="parcels",
        municipality=municipality, page_size=4)
    with pytest.raises(SourceResponseError, match="counted 10 features but 9 were read"):
        sync_through(source, faults, "miscount")
    assert not Parcel.objects.exists()
    assert parcel_indexes() == before
