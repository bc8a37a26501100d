"""Turn wire geometries into valid x/y shapely geometries in the storage CRS."""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon

from geodata.crs import STORAGE_SRID, swap_xy, to_srid


class GeometryRejected(ValueError):
    """A geometry that cannot be used; the message says why."""


# SWEREF 99 TM easting and northing ranges that hold all of Sweden, with a margin.
SWEDEN_3006 = (180_000.0, 6_050_000.0, 1_000_000.0, 7_800_000.0)


def normalise(geom: shapely.Geometry, srid: int, swap: bool) -> shapely.Geometry:
    """Put axes in x/y order, transform to the storage CRS and check it lies in Sweden.

    A geometry outside Sweden almost always means swapped axes or a wrong CRS: it is
    rejected with that reason rather than stored in the wrong place.
    """
    if swap:
        geom = swap_xy(geom)
    geom = to_srid(geom, srid, STORAGE_SRID)
    minx, miny, maxx, maxy = geom.bounds
    x0, y0, x1, y1 = SWEDEN_3006
    if not (x0 <= minx and maxx <= x1 and y0 <= miny and maxy <= y1):
        raise GeometryRejected(
            f"lies outside Sweden (E {minx:.0f}, N {miny:.0f} in EPSG:{STORAGE_SRID}): "
            "are easting and northing swapped, or is the CRS wrong?")
    return geom


def as_multipolygon(geom: shapely.Geometry) -> tuple[MultiPolygon, str]:
    """Return a valid MultiPolygon and what was repaired ("" if nothing)."""
    if geom is None or geom.is_empty:
        raise GeometryRejected("empty geometry")
    repaired = ""
    if not geom.is_valid:
        repaired = f"made valid ({shapely.is_valid_reason(geom)})"
        geom = shapely.make_valid(geom)
    polygons = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
    parts: list[Polygon] = []
    for g in polygons:
        parts.extend(g.geoms if isinstance(g, MultiPolygon) else [g])
    if not parts:
        raise GeometryRejected(f"not a polygon but a {geom.geom_type}")
    return MultiPolygon(parts), repaired


def as_point(geom: shapely.Geometry) -> tuple[Point, str]:
    """Return a point (a multipoint's first), never repaired."""
    if geom is None or geom.is_empty:
        raise GeometryRejected("empty geometry")
    if isinstance(geom, MultiPoint):
        return geom.geoms[0], ""
    if not isinstance(geom, Point):
        raise GeometryRejected(f"not a point but a {geom.geom_type}")
    return geom, ""
