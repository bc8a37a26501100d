"""WMTS background maps against a real WMTS (Debian's MapCache over our MapServer WMS)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import requests
from django.core.management import call_command
from PIL import Image

from fixtures import generate
from geodata.crs import point_to_srid
from geodata.errors import SourceResponseError
from geodata.models import Source, SyncRun
from geodata.selectors import background_map
from geodata.sources import wms
from geodata.sources.wmts import WMTSClient, get_map
from geodata.sync import source_sync
from tests.geodata.faults import FaultServer

BUILDING = (214, 200, 190)  # the WMS style of buildings (fixtures/mapserver)
# Around the demo's first kvarter: parcels, buildings, a street.
BOX = (generate.E0 - 60, generate.N0 - 40, generate.E0 + 240, generate.N0 + 185)
SIZE = (600, 450)


@pytest.fixture(scope="module")
def wmts_url(ogc_server):
    return ogc_server.rsplit("/lovkarta", 1)[0] + "/wmts"


@pytest.fixture(scope="module")
def layer(wmts_url):
    return WMTSClient("wmts-test", wmts_url, "bakgrund").describe()


def test_capabilities_are_read_with_axes_normalised(layer):
    assert set(layer.sets) == {"3006", "GoogleMapsCompatible"}
    sweref = layer.sets["3006"]
    assert sweref.srid == 3006
    # The server writes the corner northing first ("8500000 -1200000"), as EPSG:3006 says.
    coarsest, finest = sweref.matrices[0], sweref.matrices[-1]
    assert (coarsest.left, coarsest.top) == (-1200000.0, 8500000.0)
    assert coarsest.resolution == pytest.approx(4096.0)
    assert finest.resolution == pytest.approx(0.5)
    mercator = layer.sets["GoogleMapsCompatible"]
    assert mercator.srid == 3857
    assert mercator.matrices[0].left == pytest.approx(-20037508.34, abs=0.01)
    assert "{TileMatrix}" in layer.template and layer.template.startswith("http://127.0.0.1")


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The XYZ tile holding a point (the standard web mercator formula)."""
    n = 2 ** zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    return x, y


def test_leaflet_url_gives_the_tile_of_a_known_place(layer):
    url, first, last = layer.leaflet()
    assert (first, last) == (0, 21)
    assert "/GoogleMapsCompatible/{z}/{y}/{x}.png" in url
    # The middle of a building of the first kvarter.
    lon, lat = point_to_srid(generate.E0 + 12.5, generate.N0 + 20, 3006, 4326)
    x, y = tile_of(lon, lat, 17)
    answer = requests.get(url.format(z=17, x=x, y=y), timeout=30)
    assert answer.status_code == 200 and answer.content.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(answer.content)).convert("RGB")
    assert image.size == (256, 256)
    assert BUILDING in {c for _n, c in image.getcolors(65536) or []}


def on_paper(png: bytes) -> Image.Image:
    """The image as it lies on the map's background colour (the WMS's may be transparent)."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", image.size, (246, 246, 240, 255)),
                                 image).convert("RGB")


def test_stitched_map_matches_the_wms_map_of_the_same_box(layer, ogc_server):
    stitched = get_map(layer.as_info(), BOX, SIZE)
    direct = wms.get_map(ogc_server, "vatten,planbestammelse,byggnad,detaljplan,"
                         "registerenhetsomradesytor", BOX, SIZE)
    assert stitched is not None and direct is not None
    a, b = (np.asarray(on_paper(png), dtype=int) for png in (stitched, direct))
    assert a.shape == b.shape == (SIZE[1], SIZE[0], 3)
    # Same place, same scale: only resampling at edges may differ (a shift of a tile or
    # of the axes would make most pixels differ).
    differs = (np.abs(a - b).max(axis=2) > 60).mean()
    assert differs < 0.05, differs
    assert (np.abs(a - BUILDING).max(axis=2) < 8).mean() > 0.02  # buildings are there


def test_stitching_refuses_what_it_cannot_draw(layer):
    info = layer.as_info()
    assert get_map(info, BOX, SIZE, srid=3021) is None  # no RT 90 tiles
    huge = (BOX[0], BOX[1], BOX[0] + 400_000, BOX[1] + 300_000)
    assert get_map({**info, "sets": {k: v for k, v in info["sets"].items() if k == "3006"}},
                   huge, (100_000, 75_000)) is None  # more tiles than a map needs


def test_unknown_layer_names_what_the_server_has(wmts_url):
    with pytest.raises(SourceResponseError, match="no WMTS layer 'topowebb'.*bakgrund"):
        WMTSClient("wmts-test", wmts_url, "topowebb").describe()


def test_hostile_capabilities_are_refused(ogc_server):
    faults = FaultServer(ogc_server)
    try:
        for fault in ("xxe", "bomb"):
            with pytest.raises(SourceResponseError, match="document type declaration"):
                WMTSClient("wmts-test", f"{faults.url}/{fault}/wmts", "bakgrund").describe()
    finally:
        faults.shutdown()


@pytest.mark.django_db
def test_background_sources_sync_and_the_wmts_is_preferred(demo_data):
    wmts_source = Source.objects.get(name="sundsvall-bakgrundskarta-wmts")
    assert wmts_source.service_info["leaflet"].endswith("/{z}/{y}/{x}.png")
    assert wmts_source.runs.first().outcome == SyncRun.Outcome.SUCCEEDED
    wms_source = Source.objects.get(name="sundsvall-bakgrundskarta")
    assert wms_source.service_info["layers"].split(",")[0] == "vatten"
    chosen = background_map("2281")
    assert chosen is not None and chosen.protocol == "wmts" and chosen.tiles
    wmts_source.enabled = False
    wmts_source.save()
    assert background_map("2281").protocol == "wms"


@pytest.mark.django_db
def test_source_command_registers_a_wmts_and_a_bad_layer_fails_clearly(demo_data, wmts_url,
                                                                       ogc_server):
    call_command("geodata_source", "add", "topowebb", "--protocol", "wmts", "--url", wmts_url,
                 "--layer", "bakgrund", "--crs", "EPSG:3006", "--holds", "background",
                 "--municipality", "2281", "--version", "1.0.0")
    source = Source.objects.get(name="topowebb")
    run = source_sync(source)
    assert run.outcome == SyncRun.Outcome.SUCCEEDED
    assert source.service_info["max_zoom"] == 21
    good = dict(source.service_info)
    # A WMS background naming a layer the server lacks: the error names it, and the
    # WMTS's last good description is untouched.
    broken = Source.objects.create(name="fel-wms", protocol="wms", version="1.3.0",
                                   url=ogc_server, layer="byggnad,ortofoto",
                                   holds="background", crs="EPSG:3857")
    with pytest.raises(SourceResponseError, match="no layer ortofoto"):
        source_sync(broken)
    assert broken.runs.first().outcome == SyncRun.Outcome.FAILED
    source.refresh_from_db()
    assert source.service_info == good
