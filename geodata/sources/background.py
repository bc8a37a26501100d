"""The image of a background map for a box, from whichever service the map comes from."""

from __future__ import annotations

from typing import Any

from geodata.sources import wms, wmts


def background_image(protocol: str, url: str, layers: str, info: dict[str, Any],
                     box: tuple[float, float, float, float], size: tuple[int, int],
                     srid: int = 3006) -> bytes | None:
    """Return a PNG of ``box`` from a WMTS (stitched tiles) or a WMS, or None if it fails.

    ``info`` is what the source's sync read (a WMTS needs its tile matrix sets).
    """
    if protocol == "wmts":
        return wmts.get_map(info, box, size, srid)
    return wms.get_map(url, layers, box, size, srid)
