"""Background syncs: a real Celery worker on Redis, and the per-source schedule."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from geodata.models import Parcel, Source, SyncRun
from geodata.tasks import sources_due, sync_source
from tests.geodata.test_sync import ABBOTEN_BBOX

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A Redis for the worker: LOVKARTA_TEST_REDIS_URL, the machine's, or our own."""
    import shutil

    import redis

    for url in filter(None, (os.environ.get("LOVKARTA_TEST_REDIS_URL"),
                             "redis://127.0.0.1:6379/15")):
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            yield url
            return
        except redis.RedisError:
            continue
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis running and no redis-server to start (make deps installs it)")
    from tests.conftest import free_port

    port = free_port()
    workdir = str(tmp_path_factory.mktemp("redis"))
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", workdir],
                              stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            break
        except redis.RedisError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def database_url() -> str:
    """The URL of the test database, for a worker in another process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"spatialite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgis://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(redis_url):
    from config.celery import app

    queue = f"lovkarta-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel=WARNING"], cwd=ROOT, env=env)
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf.get(key) for key in keys}  # dict(app.conf) fails on Celery 5.7
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    try:
        yield queue, redis_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        app.conf.update(saved)


@pytest.mark.django_db(transaction=True)
def test_sync_runs_on_a_real_worker(worker, municipality, ogc_server):
    queue, redis = worker
    source = Source.objects.create(
        name="bakgrund", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="registerenhetsomradesytor", crs="EPSG:3006", holds="parcels",
        municipality=municipality)
    from celery.backends.redis import RedisBackend

    from config.celery import app

    # Explicit broker connection and result backend: earlier inline tasks in this process
    # may have cached the in-memory ones.
    with app.connection_for_write(redis) as conn:
        sent = sync_source.apply_async(args=[source.pk, list(ABBOTEN_BBOX)], queue=queue,
                                       connection=conn)
    backend = RedisBackend(app=app, url=redis)
    summary = app.AsyncResult(sent.id, backend=backend).get(timeout=90)
    assert summary["outcome"] == "succeeded" and summary["fetched"] == 9
    run = SyncRun.objects.get(pk=summary["run"])  # written by the worker's process
    assert run.outcome == SyncRun.Outcome.SUCCEEDED
    assert Parcel.objects.filter(source=source).count() == 9


@pytest.mark.django_db
def test_schedule_per_source(municipality, ogc_server):
    now = timezone.now()
    hourly = Source.objects.create(
        name="varje-timme", protocol="wfs", url=ogc_server, layer="byggnad",
        holds="buildings", municipality=municipality, schedule_minutes=60)
    Source.objects.create(name="vid-behov", protocol="wfs", url=ogc_server, layer="byggnad",
                          holds="buildings", municipality=municipality)
    due = {s.name for s in sources_due(now)}
    assert "varje-timme" in due and "vid-behov" not in due
    SyncRun.objects.create(source=hourly)
    assert "varje-timme" not in {s.name for s in sources_due(now)}
    assert "varje-timme" in {s.name for s in sources_due(now + timedelta(minutes=61))}
    hourly.circuit_open_until = now + timedelta(hours=2)
    hourly.save()
    assert "varje-timme" not in {s.name for s in sources_due(now + timedelta(minutes=61))}


@pytest.mark.django_db
def test_without_a_broker_tasks_run_inline(municipality, ogc_server):
    source = Source.objects.create(
        name="direkt", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="registerenhetsomradesytor", holds="parcels", municipality=municipality)
    summary = sync_source.delay(source.pk, list(ABBOTEN_BBOX)).get()
    assert summary["added"] == 9
