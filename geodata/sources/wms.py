"""WMS GetMap for background images (situation maps in receipts), within the HTTP policy."""

from __future__ import annotations

from geodata.errors import SourceError
from geodata.sources.http import HTTPPolicy, SourceHTTP


def get_map(url: str, layers: str, box: tuple[float, float, float, float],
            size: tuple[int, int], srid: int = 3006, timeout: float = 5.0) -> bytes | None:
    """Return a PNG of ``box`` (x/y in ``srid``) from a WMS 1.1.1, or None if it fails.

    WMS 1.1.1 takes x/y in the BBOX whatever the CRS, so no axis swapping is needed. A
    background map is a nicety: any failure gives None and the caller draws without it.
    """
    http = SourceHTTP("background-map", url, HTTPPolicy(connect_timeout=timeout,
                                                         read_timeout=timeout, retries=0,
                                                         deadline=timeout * 2,
                                                         max_bytes=20 * 1024 * 1024))
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
