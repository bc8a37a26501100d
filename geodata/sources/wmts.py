"""WMTS 1.0.0 background maps: capabilities read with OWSLib, tiles within the HTTP policy.

Lantmäteriet's background maps (topowebb and others) are WMTS layers with a SWEREF 99 TM
tile matrix set ("3006") and a web mercator one. A WMTS writes each matrix's
``TopLeftCorner`` in its CRS's axis order: northing first for EPSG:3006. The corners are
normalised here through :mod:`geodata.crs`, so everything after is easting/northing.

What a sync of a WMTS source stores (``describe().as_info()``) is enough to draw it: the
web map gets an XYZ URL for Leaflet, the situation map of a receipt is stitched from the
SWEREF 99 TM tiles (:func:`get_map`).
"""

from __future__ import annotations

import io
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from geodata.crs import northing_first, srid_of
from geodata.errors import CRSMismatch, SourceError, SourceResponseError
from geodata.sources.credentials import Credentials
from geodata.sources.gml import capabilities_root
from geodata.sources.http import HTTPPolicy, SourceHTTP, background_http, capabilities_version

# A pixel is 0.28 mm by the WMTS standard: scale denominator x 0.00028 = metres a pixel.
PIXEL_M = 0.00028
WEB_MERCATOR_HALF = 20037508.342789244
WEB_MERCATOR_Z0 = 2 * WEB_MERCATOR_HALF / 256  # metres a pixel at zoom 0
MAX_TILES = 64  # a situation map needs a handful; more means a wrong matrix choice


@dataclass(frozen=True)
class TileMatrix:
    """One zoom level of a tile matrix set, easting/northing."""

    identifier: str
    resolution: float  # CRS units a pixel
    left: float  # easting of the top-left corner
    top: float  # northing of the top-left corner
    tile_width: int
    tile_height: int
    matrix_width: int
    matrix_height: int


@dataclass(frozen=True)
class TileMatrixSet:
    """A tile pyramid in one CRS."""

    identifier: str
    srid: int
    matrices: tuple[TileMatrix, ...]

    def zoom_levels(self) -> tuple[str, int, int] | None:
        """If this is the web mercator pyramid Leaflet uses, return (identifier prefix,
        first zoom, last zoom); else None."""
        if self.srid != 3857 or not self.matrices:
            return None
        prefixes, zooms = set(), []
        for matrix in self.matrices:
            found = re.fullmatch(r"(.*?)(\d+)", matrix.identifier)
            if not found or matrix.tile_width != 256 or matrix.tile_height != 256:
                return None
            zoom = int(found.group(2))
            if not math.isclose(matrix.resolution, WEB_MERCATOR_Z0 / 2 ** zoom, rel_tol=1e-6):
                return None
            if not (math.isclose(matrix.left, -WEB_MERCATOR_HALF, abs_tol=1.0)
                    and math.isclose(matrix.top, WEB_MERCATOR_HALF, abs_tol=1.0)):
                return None
            prefixes.add(found.group(1))
            zooms.append(zoom)
        if len(prefixes) != 1 or zooms != list(range(zooms[0], zooms[0] + len(zooms))):
            return None
        return prefixes.pop(), zooms[0], zooms[-1]


@dataclass(frozen=True)
class WMTSLayer:
    """A WMTS layer and how to fetch its tiles."""

    identifier: str
    title: str
    style: str
    format: str
    # A URL with {TileMatrixSet}, {TileMatrix}, {TileRow} and {TileCol}: the RESTful
    # template the server gives, or its KVP GetTile URL with the same placeholders.
    template: str
    sets: dict[str, TileMatrixSet]
    version: str = ""  # updateSequence, ETag or Last-Modified of the capabilities

    def tile_url(self, matrix_set: str, matrix: str, row: int, col: int) -> str:
        return (self.template.replace("{TileMatrixSet}", matrix_set)
                .replace("{TileMatrix}", matrix).replace("{TileRow}", str(row))
                .replace("{TileCol}", str(col)))

    def leaflet(self) -> tuple[str, int, int] | None:
        """Return an XYZ URL for Leaflet and its zoom range, if a web mercator set fits."""
        for identifier, matrix_set in self.sets.items():
            levels = matrix_set.zoom_levels()
            if levels:
                prefix, first, last = levels
                url = (self.template.replace("{TileMatrixSet}", identifier)
                       .replace("{TileMatrix}", prefix + "{z}").replace("{TileRow}", "{y}")
                       .replace("{TileCol}", "{x}"))
                return url, first, last
        return None

    def as_info(self) -> dict[str, Any]:
        """What a sync stores on the source (JSON)."""
        leaflet = self.leaflet()
        return {"protocol": "wmts", "layer": self.identifier, "title": self.title,
                "style": self.style, "format": self.format, "template": self.template,
                "leaflet": leaflet[0] if leaflet else "",
                "min_zoom": leaflet[1] if leaflet else 0,
                "max_zoom": leaflet[2] if leaflet else 0,
                "sets": {k: {"identifier": v.identifier, "srid": v.srid,
                             "matrices": [asdict(m) for m in v.matrices]}
                         for k, v in self.sets.items()}}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> WMTSLayer:
        """Rebuild a layer from what a sync stored."""
        sets = {k: TileMatrixSet(v["identifier"], v["srid"],
                                 tuple(TileMatrix(**m) for m in v["matrices"]))
                for k, v in info.get("sets", {}).items()}
        return cls(info["layer"], info.get("title", ""), info.get("style", "default"),
                   info.get("format", "image/png"), info["template"], sets)


def read_capabilities(content: bytes, source: str, base_url: str) -> dict[str, WMTSLayer]:
    """Parse WMTS capabilities (no DTD, nothing fetched); return the layers by identifier."""
    from owslib.wmts import WebMapTileService

    capabilities_root(content, source, "WMTS", ("Capabilities",))
    try:
        wmts = WebMapTileService(base_url, version="1.0.0", xml=content)
    except (AttributeError, KeyError, ValueError, TypeError) as exc:
        raise SourceResponseError(source, f"unreadable WMTS capabilities: {exc}") from exc
    sets = {name: _matrix_set(source, name, tms) for name, tms in wmts.tilematrixsets.items()}
    kvp = _kvp_url(wmts, base_url)
    layers = {}
    for name, layer in wmts.contents.items():
        formats = list(layer.formats or []) or ["image/png"]
        fmt = "image/png" if "image/png" in formats else formats[0]
        styles = list((layer.styles or {}).keys())
        default = next((k for k, v in (layer.styles or {}).items()
                        if isinstance(v, dict) and v.get("isDefault")), None)
        style = default or (styles[0] if styles else "default")
        rest = next((r["template"] for r in (layer.resourceURLs or [])
                     if r.get("resourceType") == "tile" and r.get("format") == fmt), None)
        template = (rest.replace("{Style}", style).replace("{style}", style) if rest else
                    f"{kvp}SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={name}"
                    f"&STYLE={style}&FORMAT={fmt}&TILEMATRIXSET={{TileMatrixSet}}"
                    f"&TILEMATRIX={{TileMatrix}}&TILEROW={{TileRow}}&TILECOL={{TileCol}}")
        linked = [link for link in (layer.tilematrixsetlinks or {}) if link in sets]
        layers[name] = WMTSLayer(name, layer.title or name, style, fmt, template,
                                 {k: sets[k] for k in linked})
    return layers


def _matrix_set(source: str, name: str, tms: Any) -> TileMatrixSet:
    try:
        srid = srid_of(tms.crs)
    except CRSMismatch as exc:
        raise SourceResponseError(source, f"tile matrix set {name}: {exc}") from exc
    # The corner is written in the CRS's axis order (the URN forms say it is the EPSG
    # order); the short EPSG:n form is taken as x/y, as elsewhere.
    swap = northing_first(tms.crs)
    matrices = []
    for matrix in tms.tilematrix.values():
        first, second = (float(v) for v in matrix.topleftcorner)
        left, top = (second, first) if swap else (first, second)
        matrices.append(TileMatrix(
            str(matrix.identifier), float(matrix.scaledenominator) * PIXEL_M, left, top,
            int(matrix.tilewidth), int(matrix.tileheight), int(matrix.matrixwidth),
            int(matrix.matrixheight)))
    matrices.sort(key=lambda m: -m.resolution)
    return TileMatrixSet(name, srid, tuple(matrices))


def _kvp_url(wmts: Any, base_url: str) -> str:
    try:
        methods = wmts.getOperationByName("GetTile").methods
        url = next(m["url"] for m in methods if m.get("type", "Get").lower() == "get")
    except (KeyError, StopIteration, AttributeError):
        url = base_url
    return url if url.endswith(("?", "&")) else url + ("&" if "?" in url else "?")


class WMTSClient:
    """Read a WMTS layer's description from a registered source."""

    def __init__(self, name: str, url: str, layer: str, policy: HTTPPolicy | None = None,
                 credentials: Credentials | None = None) -> None:
        self.name, self.url, self.layer = name, url, layer
        self.http = SourceHTTP(name, url, policy, credentials)

    def describe(self) -> WMTSLayer:
        """Fetch the capabilities; return the source's layer or say what the server has."""
        response = self.http.get(self.url, params={
            "SERVICE": "WMTS", "REQUEST": "GetCapabilities", "VERSION": "1.0.0"})
        if response.status_code != 200:
            raise SourceResponseError(self.name, f"HTTP {response.status_code} for the "
                                                 "WMTS capabilities")
        layers = read_capabilities(response.content, self.name, self.url)
        found = layers.get(self.layer)
        if found is None:
            raise SourceResponseError(
                self.name, f"the server offers no WMTS layer {self.layer!r} (it has "
                f"{', '.join(sorted(layers)) or 'none'})")
        if not found.sets:
            raise SourceResponseError(self.name, f"WMTS layer {self.layer!r} has no tile "
                                                 "matrix set we can read")
        # Tiles are fetched from the registered host only (as every other URL).
        self.http._check_host(found.tile_url("x", "0", 0, 0))  # noqa: SLF001
        return WMTSLayer(found.identifier, found.title, found.style, found.format,
                         found.template, found.sets, capabilities_version(response))


def get_map(info: dict[str, Any], box: tuple[float, float, float, float],
            size: tuple[int, int], srid: int = 3006, timeout: float = 5.0) -> bytes | None:
    """Return a PNG of ``box`` (x/y in ``srid``) stitched from WMTS tiles, or None.

    Uses the layer's tile matrix set in ``srid`` and the matrix whose resolution is the
    finest not finer than the image needs, then crops and scales. A background map is a
    nicety: any failure gives None and the caller draws without it.
    """
    from PIL import Image

    layer = WMTSLayer.from_info(info)
    matrix_set = next((s for s in layer.sets.values() if s.srid == srid), None)
    if matrix_set is None or not matrix_set.matrices:
        return None
    wanted = (box[2] - box[0]) / size[0]
    usable = [m for m in matrix_set.matrices if m.resolution >= wanted * 0.999]
    matrix = usable[-1] if usable else matrix_set.matrices[-1]
    span_x, span_y = matrix.resolution * matrix.tile_width, matrix.resolution * matrix.tile_height
    col0, col1 = (int((box[0] - matrix.left) // span_x),
                  int((box[2] - matrix.left) // span_x))
    row0, row1 = (int((matrix.top - box[3]) // span_y),
                  int((matrix.top - box[1]) // span_y))
    if (col0 < 0 or row0 < 0 or col1 >= matrix.matrix_width or row1 >= matrix.matrix_height
            or (col1 - col0 + 1) * (row1 - row0 + 1) > MAX_TILES):
        return None
    http = background_http(layer.template.split("?")[0], timeout, max_bytes=5 * 1024 * 1024)
    cells = [(row, col) for row in range(row0, row1 + 1) for col in range(col0, col1 + 1)]

    def fetch(cell: tuple[int, int]) -> bytes | None:
        try:
            response = http.get(layer.tile_url(matrix_set.identifier, matrix.identifier,
                                               *cell))
        except SourceError:
            return None
        ok = response.status_code == 200 and response.content.startswith(
            (b"\x89PNG", b"\xff\xd8\xff"))  # PNG or JPEG
        return response.content if ok else None

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="wmts-tile") as pool:
        tiles = list(pool.map(fetch, cells))
    if any(t is None for t in tiles):
        return None
    mosaic = Image.new("RGBA", ((col1 - col0 + 1) * matrix.tile_width,
                                (row1 - row0 + 1) * matrix.tile_height))
    for (row, col), data in zip(cells, tiles, strict=True):
        assert data is not None
        mosaic.paste(Image.open(io.BytesIO(data)).convert("RGBA"),
                     ((col - col0) * matrix.tile_width, (row - row0) * matrix.tile_height))
    left = (box[0] - (matrix.left + col0 * span_x)) / matrix.resolution
    top = ((matrix.top - row0 * span_y) - box[3]) / matrix.resolution
    right = left + (box[2] - box[0]) / matrix.resolution
    bottom = top + (box[3] - box[1]) / matrix.resolution
    image = mosaic.resize(size, Image.Resampling.LANCZOS, box=(left, top, right, bottom))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
