"""Fixtures of the geodata tests: MapServer configured as municipal servers are."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from fixtures.ogcserver import make_server, serve_in_thread
from tests.conftest import free_port

LAYER = "registerenhetsomradesytor"


@pytest.fixture(scope="session")
def parcel_subset(fixture_gpkg, tmp_path_factory):
    """A GeoPackage with the first ``n`` parcels of the demo (for counts of our choosing)."""
    made: dict[int, Path] = {}

    def subset(n: int) -> Path:
        if n not in made:
            frame = pyogrio.read_dataframe(fixture_gpkg, layer=LAYER, max_features=n)
            assert len(frame) == n
            path = tmp_path_factory.mktemp(f"subset-{n}") / "parcels.gpkg"
            pyogrio.write_dataframe(frame, path, layer=LAYER, driver="GPKG")
            made[n] = path
        return made[n]

    return subset


@pytest.fixture(scope="session")
def capped_server(fixture_gpkg, tmp_path_factory):
    """Start MapServer with a page cap (``wfs_maxfeatures``, ``oga_max_limit``) over some
    data, once per configuration; return its base URL."""
    servers = {}

    def start(cap: int, data: Path | None = None, exact_hits: bool = False) -> str:
        key = (cap, data or fixture_gpkg, exact_hits)
        if key not in servers:
            port = free_port()
            server = make_server(key[1], tmp_path_factory.mktemp(f"cap-{cap}"), port=port,
                                 page_cap=cap, exact_hits=exact_hits)
            serve_in_thread(server)
            servers[key] = (server, f"http://127.0.0.1:{port}/lovkarta")
        return servers[key][1]

    yield start
    for server, _url in servers.values():
        server.shutdown()
        server.server_close()
