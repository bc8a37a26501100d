"""Turn wire geometries into valid x/y shapely geometries in the storage CRS."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import (
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)

from geodata.crs import STORAGE_SRID, SWEDEN_3006, swap_xy, to_srid


class GeometryRejected(ValueError):
    """A geometry that cannot be used; the message says why."""


def normalise_many(geoms: list[shapely.Geometry], srid: int, swap: bool
                   ) -> list[shapely.Geometry | GeometryRejected]:
    """Normalise a page of geometries at once (one transform call, not one per feature).

    Returns, for each input, the normalised geometry or the reason it was rejected.
    """
    if not geoms:
        return []
    array = np.asarray(geoms, dtype=object)
    if swap:
        array = swap_xy(array)
    array = to_srid(array, srid, STORAGE_SRID)  # both work on arrays of geometries
    bounds = shapely.bounds(array)
    x0, y0, x1, y1 = SWEDEN_3006
    inside = ((bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) & (bounds[:, 1] >= y0)
              & (bounds[:, 3] <= y1))
    out: list[shapely.Geometry | GeometryRejected] = []
    for geom, ok, b in zip(array, inside, bounds, strict=True):
        out.append(geom if ok else GeometryRejected(
            f"lies outside Sweden (E {b[0]:.0f}, N {b[1]:.0f} in EPSG:{STORAGE_SRID}): "
            "are easting and northing swapped, or is the CRS wrong?"))
    return out


def as_multipolygon(geom: shapely.Geometry) -> tuple[MultiPolygon, str]:
    """Return a valid MultiPolygon and what was repaired ("" if nothing)."""
    if geom is None or geom.is_empty:
        raise GeometryRejected("empty geometry")
    repaired = ""
    if isinstance(geom, Polygon) and geom.is_valid:
        return MultiPolygon([geom]), ""
    if isinstance(geom, MultiPolygon) and geom.is_valid:
        return geom, ""
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


def as_multilinestring(geom: shapely.Geometry) -> tuple[MultiLineString, str]:
    """Return a valid MultiLineString and what was repaired ("" if nothing).

    A line of one point (or of one point repeated) is no line: its valid remains, if any,
    are kept; areas are refused (a water polygon's edge is not always a shoreline: it
    may be where the data was cut).
    """
    if geom is None or geom.is_empty:
        raise GeometryRejected("empty geometry")
    if isinstance(geom, LinearRing):
        geom = LineString(geom.coords)
    if isinstance(geom, LineString) and geom.is_valid:
        return MultiLineString([geom]), ""
    if isinstance(geom, MultiLineString) and geom.is_valid:
        return geom, ""
    repaired = ""
    if not geom.is_valid:
        repaired = f"made valid ({shapely.is_valid_reason(geom)})"
        geom = shapely.make_valid(geom)
    parts: list[LineString] = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, LineString) and not g.is_empty:
            parts.append(g)
        elif isinstance(g, MultiLineString):
            parts.extend(g.geoms)
    if not parts:
        raise GeometryRejected(f"not a line but a {geom.geom_type}")
    return MultiLineString(parts), repaired


def coerce_many(geoms: list[shapely.Geometry], kind: str
                ) -> list[tuple[bytes, str] | GeometryRejected]:
    """Make a page of geometries the cache's type; return (WKB, repair note) or the reason.

    ``kind`` is "multipolygon", "multilinestring" or "point". Valid polygons and lines,
    the common cases, are converted in one vectorised call; the rest go one by one
    through the careful functions.
    """
    if not geoms:
        return []
    array = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(array)
    out: list[tuple[bytes, str] | GeometryRejected | None] = [None] * len(array)
    if kind == "multipolygon":
        valid = shapely.is_valid(array)
        polygons = np.flatnonzero(valid & (types == 3))
        multis = np.flatnonzero(valid & (types == 6))
        fast = np.concatenate([polygons, multis])
        converted = np.empty(len(fast), dtype=object)
        if len(polygons):
            converted[:len(polygons)] = shapely.multipolygons(array[polygons][:, None])
        converted[len(polygons):] = array[multis]
        for i, wkb in zip(fast, shapely.to_wkb(converted, byte_order=1), strict=True):
            out[i] = (wkb, "")
        careful = as_multipolygon
    elif kind == "multilinestring":
        valid = shapely.is_valid(array)
        lines = np.flatnonzero(valid & (types == 1))
        multis = np.flatnonzero(valid & (types == 5))
        if len(lines):
            made = shapely.multilinestrings(array[lines][:, None])
            for i, wkb in zip(lines, shapely.to_wkb(made, byte_order=1), strict=True):
                out[i] = (wkb, "")
        for i, wkb in zip(multis, shapely.to_wkb(array[multis], byte_order=1), strict=True):
            out[i] = (wkb, "")
        careful = as_multilinestring  # type: ignore[assignment]
    else:
        points = np.flatnonzero(types == 0)
        for i, wkb in zip(points, shapely.to_wkb(array[points], byte_order=1), strict=True):
            out[i] = (wkb, "")
        careful = as_point  # type: ignore[assignment]
    for i, done in enumerate(out):
        if done is None:
            try:
                geom, repair = careful(array[i])
                out[i] = (shapely.to_wkb(geom, byte_order=1), repair)
            except GeometryRejected as exc:
                out[i] = exc
    return out  # type: ignore[return-value]
