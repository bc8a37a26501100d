"""GeoJSON output of cached features (RFC 7946: CRS84 longitude/latitude by default)."""

from __future__ import annotations

from typing import Any

import shapely
import shapely.geometry
from django.contrib.gis.geos import GEOSGeometry

from geodata.crs import STORAGE_SRID, WEB_SRID, to_srid


def geometry(geom: GEOSGeometry, srid: int = WEB_SRID, precision: int | None = None
             ) -> dict[str, Any]:
    """Return a GeoJSON geometry dict for a GEOS geometry, transformed to ``srid``."""
    shape = to_srid(shapely.from_wkb(bytes(geom.wkb)), geom.srid or STORAGE_SRID, srid)
    if precision is None:
        precision = 7 if srid == WEB_SRID else 3
    shape = shapely.set_precision(shape, 10 ** -precision, mode="pointwise")
    return shapely.geometry.mapping(shape)  # type: ignore[no-any-return]


def feature(geom: GEOSGeometry, properties: dict[str, Any], srid: int = WEB_SRID,
            fid: str | None = None) -> dict[str, Any]:
    """Return a GeoJSON Feature."""
    out: dict[str, Any] = {"type": "Feature", "geometry": geometry(geom, srid),
                           "properties": properties}
    if fid is not None:
        out["id"] = fid
    return out
