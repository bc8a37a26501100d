"""What an export is limited to: a municipality, a bbox or a polygon, applied in SQL.

A bbox or polygon may be given in any CRS exports support; it becomes an area in the
storage CRS (EPSG:3006) here, its edges densified first so that a bbox in WGS 84 keeps its
curved outline in SWEREF 99 TM. A feature is exported if it intersects the area (it is not
cut at its edge).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from django.conf import settings
from django.utils.translation import gettext as _

from geodata import municipalities
from geodata.crs import STORAGE_SRID, check_sweden, to_srid
from geodata.errors import CRSMismatch
from geodata.exports.errors import InvalidArea, UnknownMunicipalityFilter
from geodata.exports.layers import Layer
from geodata.models import Municipality, Source

# Edges of a bbox or polygon are cut into this many pieces of its extent before being
# transformed, so that the outline bends as it does in the other CRS.
DENSIFY = 64

# Only names of our own tables and constants are put into these; values are parameters.
_BY_SOURCE = ("t.source_id IN (SELECT s.id FROM {sources} s JOIN {municipalities} m "
              "ON m.id = s.municipality_id WHERE m.kommunkod = %s)")
_IN_AREA = {
    # The GiST index serves ST_Intersects.
    "postgresql": "ST_Intersects(t.{column}, ST_GeomFromWKB(%s, {srid}))",
    # SpatiaLite's R*Tree is only used when asked through its SpatialIndex table.
    "sqlite": ("t.id IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = %s AND "
               "f_geometry_column = '{column}' AND search_frame = GeomFromWKB(%s, {srid})) "
               "AND Intersects(t.{column}, GeomFromWKB(%s, {srid}))"),
}


@dataclass(frozen=True)
class ExportFilter:
    """The rows of a layer an export takes: all, or those of a municipality and/or area."""

    kommunkod: str | None = None
    area: Any = None  # a shapely (Multi)Polygon in the storage CRS, or None

    def where(self, layer: Layer, vendor: str) -> tuple[list[str], list[Any]]:
        """Return SQL conditions on the table (aliased ``t``) and their parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for sql, values in layer.where:
            clauses.append(sql)
            params += list(values)
        if self.kommunkod:
            if layer.municipality_sql:
                clauses.append(f"{layer.municipality_sql} = %s")
            elif layer.municipality_column:
                clauses.append(f"t.{layer.municipality_column} = %s")
            else:  # buildings and regulations belong to a municipality through their source
                clauses.append(_BY_SOURCE.format(sources=Source._meta.db_table,
                                                 municipalities=Municipality._meta.db_table))
            params.append(self.kommunkod)
        if self.area is not None:
            wkb = shapely.to_wkb(self.area)
            clauses.append(_IN_AREA[vendor].format(srid=STORAGE_SRID,
                                                   column=layer.geometry_column))
            # The table's name is a parameter of SpatiaLite's index query.
            params += [layer.table, wkb, wkb] if vendor == "sqlite" else [wkb]
        return clauses, params


def municipality_code(given: str) -> str:
    """Return the kommunkod of a municipality given by code or name (400 if none)."""
    try:
        return municipalities.find(given).kommunkod
    except municipalities.UnknownMunicipality as exc:
        near = ", ".join(f"{e.kommunkod} {e.name}" for e in exc.suggestions)
        raise UnknownMunicipalityFilter(
            _("No Swedish municipality has the code or name %(given)s (the nearest: "
              "%(near)s).") % {"given": repr(given), "near": near or "-"}) from exc


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read ``minx,miny,maxx,maxy`` as typed on a command line or in a query string."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InvalidArea(_("A bbox is four numbers minx,miny,maxx,maxy, not %(bbox)s.")
                          % {"bbox": repr(text[:80])})
    return values[0], values[1], values[2], values[3]


def parse_polygon(text: str) -> Any:
    """Read a polygon written as WKT or as a GeoJSON geometry (400 if neither)."""
    text = text.strip()
    try:
        if text.startswith("{"):
            data = json.loads(text)
            if data.get("type") == "Feature":
                data = data.get("geometry") or {}
            return shapely.from_geojson(json.dumps(data))
        return shapely.from_wkt(text)
    except (ValueError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidArea(_("The polygon could not be read: give WKT, e.g. POLYGON ((...)), "
                            "or a GeoJSON geometry.")) from exc


def bbox_area(bbox: Sequence[float], srid: int) -> Any:
    """Return a bbox given in ``srid`` as an area in the storage CRS."""
    if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
        raise InvalidArea(_("A bbox is four numbers minx,miny,maxx,maxy."))
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if minx >= maxx or miny >= maxy:
        raise InvalidArea(_("A bbox is minx,miny,maxx,maxy with minx below maxx and miny "
                            "below maxy."))
    return _in_storage(shapely.box(minx, miny, maxx, maxy), srid)


def polygon_area(geometry: Any, srid: int) -> Any:
    """Return a polygon given in ``srid`` as an area in the storage CRS."""
    if not isinstance(geometry, shapely.Polygon | shapely.MultiPolygon) or geometry.is_empty:
        raise InvalidArea(_("An export is limited by a polygon or multipolygon."))
    limit = int(getattr(settings, "LOVKARTA_GEOMETRY_MAX_VERTICES", 10_000))
    if shapely.get_num_coordinates(geometry) > limit:
        raise InvalidArea(_("The polygon has more than %(limit)d vertices.") % {"limit": limit})
    if not geometry.is_valid:
        raise InvalidArea(_("The polygon is not valid (%(reason)s).")
                          % {"reason": shapely.is_valid_reason(geometry)})
    return _in_storage(geometry, srid)


def _in_storage(geometry: Any, srid: int) -> Any:
    minx, miny, maxx, maxy = geometry.bounds
    dense = shapely.segmentize(geometry, max(maxx - minx, maxy - miny) / DENSIFY)
    area = to_srid(dense, srid, STORAGE_SRID)
    outside = InvalidArea(_("The area lies outside Sweden in EPSG:%(srid)d: are the axes "
                            "swapped (x is easting or longitude, y northing or latitude)?")
                          % {"srid": srid})
    # A point beyond the CRS's domain comes back as infinity.
    if not all(math.isfinite(v) for v in area.bounds):
        raise outside
    try:
        check_sweden(area.centroid.x, area.centroid.y, STORAGE_SRID)
    except CRSMismatch as exc:
        raise outside from exc
    return area


def export_filter(*, municipality: str | None = None,
                  bbox: Sequence[float] | None = None, polygon: Any = None,
                  srid: int = STORAGE_SRID) -> ExportFilter:
    """Return the filter of an export; ``bbox`` and ``polygon`` are in ``srid``."""
    if bbox is not None and polygon is not None:
        raise InvalidArea(_("Limit an export by a bbox or by a polygon, not both."))
    kommunkod = municipality_code(municipality) if municipality else None
    area = None
    if bbox is not None:
        area = bbox_area(bbox, srid)
    elif polygon is not None:
        area = polygon_area(polygon, srid)
    return ExportFilter(kommunkod, area)
