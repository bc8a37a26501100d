"""WMS background maps: capabilities checked at sync, GetMap for situation maps."""

from __future__ import annotations

from typing import Any

from geodata.errors import SourceError, SourceResponseError
from geodata.sources.credentials import Credentials
from geodata.sources.gml import capabilities_root
from geodata.sources.http import HTTPPolicy, SourceHTTP, background_http, capabilities_version


def describe(name: str, url: str, layers: str, policy: HTTPPolicy | None = None,
             credentials: Credentials | None = None) -> tuple[dict[str, Any], str]:
    """Read a WMS's capabilities (through OWSLib) and confirm it has every layer asked.

    Returns what drawing the map needs and the capabilities' version (updateSequence,
    ETag or Last-Modified).
    """
    from owslib.wms import WebMapService

    http = SourceHTTP(name, url, policy, credentials)
    response = http.get(url, params={"SERVICE": "WMS", "REQUEST": "GetCapabilities",
                                     "VERSION": "1.3.0"})
    capabilities_root(response.content, name, "WMS", ("WMS_Capabilities", "WMT_MS_Capabilities"))
    wms = WebMapService(url, version="1.3.0", xml=response.content)
    offered = set(wms.contents)
    wanted = [layer.strip() for layer in layers.split(",") if layer.strip()]
    missing = [layer for layer in wanted if layer not in offered]
    if missing or not wanted:
        asked = ", ".join(missing) or "(none given)"
        raise SourceResponseError(name, f"the WMS offers no layer {asked} (it has "
                                        f"{', '.join(sorted(offered))})")
    return {"protocol": "wms", "title": wms.identification.title or name,
            "layers": ",".join(wanted)}, capabilities_version(response)


def get_map(url: str, layers: str, box: tuple[float, float, float, float],
            size: tuple[int, int], srid: int = 3006, timeout: float = 5.0) -> bytes | None:
    """Return a PNG of ``box`` (x/y in ``srid``) from a WMS 1.1.1, or None if it fails.

    WMS 1.1.1 takes x/y in the BBOX whatever the CRS, so no axis swapping is needed. A
    background map is a nicety: any failure gives None and the caller draws without it.
    """
    http = background_http(url, timeout, max_bytes=20 * 1024 * 1024)
    try:
        response = http.get(url, params={
            "SERVICE": "WMS", "VERSION": "1.1.1", "REQUEST": "GetMap", "LAYERS": layers,
            "STYLES": "", "SRS": f"EPSG:{srid}", "BBOX": ",".join(f"{v:.3f}" for v in box),
            "WIDTH": str(size[0]), "HEIGHT": str(size[1]), "FORMAT": "image/png"})
    except SourceError:
        return None
    if response.status_code != 200 or not response.content.startswith(b"\x89PNG"):
        return None
    return response.content
