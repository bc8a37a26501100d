"""GeoJSON input: the one place that turns posted JSON into a geometry Lovkarta can use.

Every interface that takes a geometry from outside comes through here: the detail-report
API (a posted geometry or Feature), the applicant's drawings (a FeatureCollection) and the
corners of a site typed as coordinates. The same limits (``LOVKARTA_GEOMETRY_MAX_VERTICES``,
``LOVKARTA_GEOMETRY_MAX_PARTS``, ``LOVKARTA_JSON_MAX_DEPTH``) and the same errors apply to
all of them: what cannot be used raises :class:`~geodata.errors.InvalidInput` or
:class:`~geodata.errors.CRSMismatch` (both HTTP 400), with a message in the caller's
language. The structure is checked, and vertices and parts counted, before shapely sees
anything, so hostile input costs no more work than the limits allow.

(``geodata/geojson.py`` is the other direction: cached features written as GeoJSON.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from django.conf import settings
from django.utils.translation import gettext as _

from geodata.crs import STORAGE_SRID, SWEDEN_3006, WEB_SRID, to_srid
from geodata.errors import (
    CRSMismatch,
    InvalidGeometry,
    RequestTooLarge,
    TooDeep,
    TooManyParts,
    TooManyVertices,
)

# How many levels of arrays each type's coordinates hold above a position.
NESTING = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
           "Polygon": 2, "MultiPolygon": 3}


@dataclass(frozen=True)
class Limits:
    """How much one request may ask for: vertices, parts, and depth of its JSON."""

    max_vertices: int
    max_parts: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> Limits:
        """Return the limits configured in the settings (read on each call)."""
        return cls(max_vertices=settings.LOVKARTA_GEOMETRY_MAX_VERTICES,
                   max_parts=settings.LOVKARTA_GEOMETRY_MAX_PARTS,
                   max_depth=settings.LOVKARTA_JSON_MAX_DEPTH)


class _Budget:
    """Vertices and parts, counted as they are read and refused as soon as one is over."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.vertices = 0
        self.parts = 0

    def take(self, *, vertices: int = 0, parts: int = 0) -> None:
        self.vertices += vertices
        self.parts += parts
        self.check(self.parts)
        if self.vertices > self.limits.max_vertices:
            limit = self.limits.max_vertices
            raise TooManyVertices(
                _("The geometry has more vertices than the %(limit)d accepted. Simplify it "
                  "and try again.") % {"limit": limit},
                limit="LOVKARTA_GEOMETRY_MAX_VERTICES", value=limit)

    def check(self, parts: int) -> None:
        """Refuse ``parts`` parts if they are more than the limit (without counting them)."""
        if parts > self.limits.max_parts:
            limit = self.limits.max_parts
            raise TooManyParts(
                _("The geometry has more parts (rings, lines, points or features) than the "
                  "%(limit)d accepted.") % {"limit": limit},
                limit="LOVKARTA_GEOMETRY_MAX_PARTS", value=limit)


def request_json(request: Any) -> Any:
    """Return a request's JSON body, refusing one over LOVKARTA_API_MAX_BODY_BYTES (413)
    before it is read, and parsed as ``json_load`` parses."""
    limit = settings.LOVKARTA_API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit or len(request.body) > limit:
        raise RequestTooLarge(_("The request body is larger than the %(limit)d bytes "
                                "accepted.") % {"limit": limit},
                              limit="LOVKARTA_API_MAX_BODY_BYTES", value=limit)
    return json_load(request.body or b"{}")


def json_load(data: str | bytes, *, max_depth: int | None = None) -> Any:
    """Parse JSON text, refusing NaN and Infinity and anything nested too deep."""
    depth = settings.LOVKARTA_JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError as exc:  # nested beyond what the decoder can follow at all
        raise _too_deep(depth) from exc
    except ValueError as exc:  # not JSON, not UTF-8, NaN/Infinity, a number too long
        raise InvalidGeometry(_("The GeoJSON could not be read: it is not JSON.")) from exc
    _check_depth(value, depth)
    return value


def geometry_from_geojson(value: Any, *, srid: int = WEB_SRID,
                          limits: Limits | None = None) -> shapely.Geometry:
    """Return a GeoJSON geometry or Feature in ``srid`` as a valid geometry in the storage CRS.

    Raises InvalidInput (type, structure, non-finite numbers, invalid or empty shape,
    limits) or CRSMismatch (outside Sweden, which usually means swapped axes); both 400.
    """
    budget = _Budget(limits or Limits.from_settings())
    if not isinstance(value, Mapping):
        raise InvalidGeometry(_("Send a GeoJSON geometry or Feature (a JSON object)."))
    if value.get("type") == "FeatureCollection":
        raise InvalidGeometry(_("Send one geometry or Feature, not a FeatureCollection."))
    if value.get("type") == "Feature":
        value = value.get("geometry")
    return _geometry(value, srid, budget)


def features_from_geojson(value: Any, *, srid: int = WEB_SRID, limits: Limits | None = None
                          ) -> list[tuple[shapely.Geometry, dict[str, Any]]]:
    """Return each Feature of a FeatureCollection as (geometry in storage CRS, properties).

    The features share one budget of vertices and parts; errors as for
    :func:`geometry_from_geojson`.
    """
    limits = limits or Limits.from_settings()
    if not isinstance(value, Mapping) or value.get("type") != "FeatureCollection":
        raise InvalidGeometry(_("Send a GeoJSON FeatureCollection."))
    features = value.get("features")
    if not isinstance(features, list):
        raise InvalidGeometry(_("The FeatureCollection has no list of features."))
    budget = _Budget(limits)
    budget.check(len(features))  # every feature has at least one part, counted below
    found = []
    for feature in features:
        if not isinstance(feature, Mapping):
            raise InvalidGeometry(_("A feature is not a GeoJSON Feature (a JSON object)."))
        properties = feature.get("properties")
        if properties is not None and not isinstance(properties, Mapping):
            raise InvalidGeometry(_("The properties of a feature must be a JSON object."))
        found.append((_geometry(feature.get("geometry"), srid, budget),
                      dict(properties or {})))
    return found


def _geometry(value: Any, srid: int, budget: _Budget) -> shapely.Geometry:
    if not isinstance(value, Mapping):
        raise InvalidGeometry(_("The geometry must be a JSON object with a type and "
                                "coordinates."))
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in NESTING:
        shown = repr(kind) if len(repr(kind)) <= 40 else repr(kind)[:40] + "…"
        raise InvalidGeometry(_("Unsupported geometry type %(type)s: use Point, LineString, "
                                "Polygon or their Multi forms.") % {"type": shown})
    coordinates = _coordinates(kind, value.get("coordinates"), budget)
    shape = shapely.geometry.shape({"type": kind, "coordinates": coordinates})
    return _usable(shape, srid)


def _coordinates(kind: str, value: Any, budget: _Budget) -> Any:
    """Check and copy the coordinates of one geometry type (x/y only, z dropped)."""
    if kind == "Point":
        budget.take(vertices=1, parts=1)
        return _position(value)
    if kind == "MultiPoint":
        points = _array(value, parts=True, budget=budget)
        budget.take(vertices=len(points))
        return [_position(p) for p in points]
    if kind == "LineString":
        return _line(value, budget)
    if kind == "MultiLineString":
        return [_line(line, budget) for line in _array(value)]
    if kind == "Polygon":
        return _polygon(value, budget)
    return [_polygon(polygon, budget) for polygon in _array(value)]


def _array(value: Any, *, parts: bool = False, budget: _Budget | None = None) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidGeometry(_("The coordinates are not nested as the geometry type "
                                "requires."))
    if parts and budget is not None:
        budget.take(parts=len(value))
    return list(value)


def _line(value: Any, budget: _Budget, *, minimum: int = 2) -> list[tuple[float, float]]:
    positions = _array(value)
    budget.take(vertices=len(positions), parts=1)
    if len(positions) < minimum:
        raise InvalidGeometry(_("A line needs at least two positions, a polygon's ring at "
                                "least four (the first repeated last)."))
    return [_position(p) for p in positions]


def _polygon(value: Any, budget: _Budget) -> list[list[tuple[float, float]]]:
    rings = [_line(ring, budget, minimum=4) for ring in _array(value)]
    if not rings:
        raise InvalidGeometry(_("A polygon needs at least its outer ring."))
    if any(ring[0] != ring[-1] for ring in rings):
        raise InvalidGeometry(_("A polygon's ring must end where it begins."))
    return rings


def _position(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise InvalidGeometry(_("A position must be two or three numbers: [x, y] or "
                                "[x, y, z]."))
    numbers = [_number(v) for v in value]
    return numbers[0], numbers[1]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidGeometry(_("Coordinates must be numbers."))
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise InvalidGeometry(_("Coordinates must be finite numbers (not NaN or infinity)."))
    return number


def _usable(shape: shapely.Geometry, srid: int) -> shapely.Geometry:
    """Return the shape in the storage CRS if it is non-empty, in Sweden and valid."""
    if shape.is_empty:
        raise InvalidGeometry(_("The geometry is empty."))
    shape = to_srid(shape, srid, STORAGE_SRID)
    x0, y0, x1, y1 = SWEDEN_3006
    coords = shapely.get_coordinates(shape)
    inside = bool(np.isfinite(coords).all()) and bool(
        ((coords[:, 0] >= x0) & (coords[:, 0] <= x1)
         & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)).all())
    if not inside:
        raise CRSMismatch(_("The geometry lies outside Sweden in EPSG:%(srid)d: are easting "
                            "and northing (or longitude and latitude) swapped?")
                          % {"srid": srid})
    if not shape.is_valid:
        raise InvalidGeometry(_("The geometry is not valid (%(reason)s): a ring must not "
                                "cross itself and a hole must lie inside its polygon.")
                              % {"reason": shapely.is_valid_reason(shape)})
    return shape


def _check_depth(value: Any, max_depth: int) -> None:
    """Raise TooDeep if arrays and objects nest deeper than ``max_depth`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > max_depth:
            raise _too_deep(max_depth)
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def _too_deep(limit: int) -> TooDeep:
    return TooDeep(_("The JSON is nested deeper than the %(limit)d levels accepted.")
                   % {"limit": limit}, limit="LOVKARTA_JSON_MAX_DEPTH", value=limit)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
