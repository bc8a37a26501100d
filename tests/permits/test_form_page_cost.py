"""What the applicant's form page costs (issue #13, the load test's goals): each drawing,
attachment and parcel read once; the map and the summary of the pinned place made once
for as long as what they are made of holds; the API's data age asked once a minute.

The query counts are ceilings: a change that adds a query to these pages has to raise
them here, on purpose."""

from __future__ import annotations

import json
import uuid

import pytest
import shapely
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from fixtures import generate
from geodata.crs import to_srid
from geodata.models import SyncRun
from permits.models import Application
from tests.permits.conftest import fields, pdf_upload

pytestmark = pytest.mark.django_db
E0, N0 = generate.E0, generate.N0
# Form page of a draft with a pin, a drawing and an attachment: session, user, the draft
# with its parcel, its drawings, its attachments, the sync runs (the summary's key), the
# background sources (the map's key), the fee (municipality, table, rows) and the menu's
# staff role; a first render adds the detail report and the map's background source.
FORM_PAGE_QUERIES = 12
FORM_PAGE_FIRST_QUERIES = 18
# The search results page, searched from the form page: the form page's, the save
# (savepoint, status lock, the parcel at the pin, the update, the event) and the search
# (designations, addresses, their parcels); the draft's parcel is not read again.
SEARCH_PAGE_QUERIES = 21


def drawing(*boxes: tuple[float, float, float, float]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"kind": "byggnad"},
        "geometry": shapely.geometry.mapping(to_srid(shapely.box(
            E0 + x0, N0 + y0, E0 + x1, N0 + y1), 3006, 4326))} for x0, y0, x1, y1 in boxes]})


@pytest.fixture
def pinned(applicant, draft):
    """A draft pinned in SUNDSVALL ABBOTEN 1 with a drawn house and a site plan."""
    cache.clear()
    response = applicant.post(f"/ansokan/{draft.pk}/redigera/", fields(
        drawn=drawing((8, 12, 18, 22)), attachment_kind="situationsplan",
        attachment_file=pdf_upload()))
    assert response.status_code == 302
    return draft


def get(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_form_page_reads_each_thing_once_and_keeps_map_and_summary(applicant, pinned):
    url = f"/ansokan/{pinned.pk}/redigera/"
    first, first_count = get(applicant, url)
    again, count = get(applicant, url)
    assert first_count <= FORM_PAGE_FIRST_QUERIES
    assert count <= FORM_PAGE_QUERIES < first_count
    for page in (first, again):
        assert "SUNDSVALL ABBOTEN 1" in page and "2281-P" in page  # the plan at the pin
        assert "Marken får inte förses med byggnad" in page  # a regulation on the property
        assert "100 m²" in page  # the drawing, listed
        assert "situationsplan.pdf" in page and 'id="fee-estimate">Cirka' in page
    # The same page, from what was kept (the first one also says the draft was saved).
    form = first[first.index('id="application-form"'):]
    assert form == again[again.index('id="application-form"'):].replace(_csrf(again), _csrf(first))


def _csrf(page: str) -> str:
    return page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]


def test_kept_map_and_summary_follow_drawings_syncs_and_language(applicant, pinned):
    url = f"/ansokan/{pinned.pk}/redigera/"
    get(applicant, url)
    # Another drawing: the map is made again (the drawings are in its configuration).
    assert applicant.post(url, fields(drawn=drawing((8, 12, 18, 22), (1, 1, 5, 5)))
                          ).status_code == 302
    page, _count = get(applicant, url)
    assert page.count('"kind": "byggnad"') == 2
    # A good sync: the summary is made again (its key names the sync runs).
    run = SyncRun.objects.filter(outcome=SyncRun.Outcome.SUCCEEDED).latest("pk")
    run.pk = None
    run.save()
    with CaptureQueriesContext(connection) as queries:
        applicant.get(url)
    assert any("geodata_regulation" in q["sql"] for q in queries.captured_queries)
    # English: the map's texts are English, not the Swedish map kept before.
    label = "Map: click where you want to build to choose the property"
    assert label not in page
    applicant.cookies["django_language"] = "en"
    english = applicant.get(url).content.decode()
    assert label in english and page.count('"kind": "byggnad"') == 2


def test_search_page_without_javascript_keeps_what_was_typed(applicant, pinned):
    url = f"/ansokan/{pinned.pk}/redigera/"
    get(applicant, url)  # the page the search is made from
    with CaptureQueriesContext(connection) as queries:
        response = applicant.post(url, fields(
            designation="tomming 2 :6", description="Ett garage, skrivet före sökningen.",
            action="search"))
    page = response.content.decode()
    assert response.status_code == 200 and len(queries) <= SEARCH_PAGE_QUERIES
    assert 'id="search-results"' in page and "SUNDSVALL TOMMING 2:6" in page
    assert 'value="tomming 2 :6"' in page
    assert "Ett garage, skrivet före sökningen." in page
    assert "Marken får inte förses med byggnad" in page  # the pinned place's summary
    pinned.refresh_from_db()
    assert pinned.description == "Ett garage, skrivet före sökningen."  # saved first


def test_api_data_age_is_asked_once_a_minute(client, demo_data):
    where = {"x": E0 + 12, "y": N0 + 20}
    cache.clear()
    with CaptureQueriesContext(connection) as first:
        body = client.get("/api/v1/parcels/at", where).json()
    with CaptureQueriesContext(connection) as again:
        same = client.get("/api/v1/parcels/at", where).json()
    assert any("geodata_syncrun" in q["sql"] for q in first.captured_queries)
    assert not any("geodata_syncrun" in q["sql"] for q in again.captured_queries)
    assert len(again.captured_queries) == len(first.captured_queries) - 1
    props = body["properties"]
    assert props["data_synced_at"] is not None
    assert same["properties"]["data_synced_at"] == props["data_synced_at"]
    assert 0 <= same["properties"]["data_age_seconds"] < 600


REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache():
    """Django's cache in the machine's Redis (a key prefix of the test's own, removed
    after), and the sessions read through it: production's configuration."""
    import redis

    server = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (scripts/setup.sh installs it)")
    prefix = f"lovkarta-test-{uuid.uuid4().hex}"
    with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                "LOCATION": REDIS, "KEY_PREFIX": prefix}},
            SESSION_ENGINE="django.contrib.sessions.backends.cached_db"):
        yield
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_form_page_through_redis_and_cached_sessions(redis_cache, demo_users):
    client = Client()
    client.force_login(demo_users["sokande"])
    client.post("/ansokan/ny/", {"answer": "bygga-nytt"})
    draft = Application.objects.latest("created_at")
    url = f"/ansokan/{draft.pk}/redigera/"
    assert client.post(url, fields(drawn=drawing((8, 12, 18, 22)))).status_code == 302
    first, _count = get(client, url)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).content.decode()
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "django_session" not in sql  # the session came from Redis
    assert "geodata_regulation" not in sql and "geodata_plan" not in sql  # the summary too
    assert "Marken får inte förses med byggnad" in again and "2281-P" in again
    assert again.count('"kind": "byggnad"') == first.count('"kind": "byggnad"') == 1
