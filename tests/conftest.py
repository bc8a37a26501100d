"""Shared fixtures: the real local OGC server, demo data in the database, a browser."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "var" / "fixtures" / "sundsvall.gpkg"
FIXTURE_2280 = ROOT / "var" / "fixtures" / "harnosand.gpkg"
sys.path.insert(0, str(ROOT))

# Hypothesis' timing checks fail on a loaded 2-core machine (CI runs MapServer and the
# database beside the tests) without saying anything about the code: examples are bounded
# by max_examples, and a slow example is not a failure.
settings.register_profile("lovkarta", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lovkarta")


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Passwords hashed with MD5 in the tests, as Django's testing docs advise: PBKDF2's
    million iterations cost 0.5 s a hash on these machines, every log-in of a test pays
    it, and the demo's eight users are made again after each transactional test (4 s a
    reload). The production hasher is the stack's own in ``make prod-check``."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def fixture_gpkg() -> Path:
    """The demo municipality's GeoPackage, generated if missing."""
    if not FIXTURE.exists():
        from fixtures.generate import main

        main(["--out", str(FIXTURE)])
    return FIXTURE


def serve(data: Path, workdir: Path) -> Iterator[str]:
    """Run MapServer behind the gateway on a free port; yield its base URL."""
    from fixtures.ogcserver import make_server, serve_in_thread

    port = free_port()
    server = make_server(data, workdir, port=port)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{port}/lovkarta"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def ogc_server(fixture_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Sundsvall's data on the local OGC server; its base URL."""
    yield from serve(fixture_gpkg, tmp_path_factory.mktemp("mapserver"))


@pytest.fixture(scope="session")
def ogc_server_2280(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Härnösand's data (the second municipality) on a server of its own; its base URL."""
    if not FIXTURE_2280.exists():
        from fixtures.generate import main

        main(["--municipality", "2280", "--out", str(FIXTURE_2280)])
    yield from serve(FIXTURE_2280, tmp_path_factory.mktemp("mapserver-2280"))


def load_demo(ogc_url: str) -> None:
    """Register the demo sources against the test OGC server and sync every one."""
    from django.core.management import call_command

    from geodata.models import Source
    from geodata.sync import source_sync

    call_command("lovkarta_demo", ogc_url=ogc_url, verbosity=0)
    for source in Source.objects.filter(enabled=True):
        source_sync(source)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, ogc_server):
    """Create the test database once, with the demo municipality synced into it."""
    with django_db_blocker.unblock():
        load_demo(ogc_server)


@pytest.fixture
def demo_data(db, ogc_server):
    """The demo municipality in the cache (reloaded if a transactional test emptied it)."""
    from geodata.models import Parcel

    if not Parcel.objects.filter(source__name="sundsvall-fastigheter").exists():
        load_demo(ogc_server)


@pytest.fixture
def municipality(db):
    from geodata.models import Municipality

    return Municipality.objects.get_or_create(kommunkod="2281", defaults={"name": "Sundsvall"})[0]


@pytest.fixture
def wfs_source(municipality, ogc_server):
    from geodata.models import Source

    return Source.objects.create(
        name="test-wfs", protocol="wfs", version="2.0.0", url=ogc_server,
        layer="registerenhetsomradesytor", crs="EPSG:3006", holds="parcels",
        municipality=municipality, page_size=1000)


@pytest.fixture
def synced_parcels(wfs_source):
    """Sync the demo parcels over WFS 2.0 into the cache."""
    from geodata.sync import source_sync

    return source_sync(wfs_source)


@pytest.fixture
def demo_users(demo_data):
    from django.contrib.auth.models import User

    return {u.username: u for u in User.objects.all()}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path_factory):
    """Uploads and documents of a test go to a temporary folder, not var/media."""
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")
