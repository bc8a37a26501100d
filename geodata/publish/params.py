"""Query parameters of the OGC API: formats, paging, bbox, datetime and CRSs (Part 2).

CRSs are given as URIs (``http://www.opengis.net/def/crs/EPSG/0/3006``, or the URN or
``[EPSG:3006]`` forms), and coordinates in them come in the CRS's own axis order:
northing first for SWEREF 99 TM and its zones, latitude first for EPSG:4326, longitude
first for CRS84. :mod:`geodata.crs` says which order a CRS has and does every transform.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.http import HttpRequest
from django.utils import translation

from geodata.crs import STORAGE_SRID, WEB_SRID, northing_first, parse_crs, to_srid
from geodata.errors import UnknownCRS
from geodata.publish.errors import InvalidParameter

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# What the API offers: SWEREF 99 TM, its twelve local zones and WGS 84 (besides CRS84).
PUBLISHED_SRIDS = (STORAGE_SRID, *range(3007, 3019), WEB_SRID)
STORAGE_CRS_URI = EPSG_URI.format(STORAGE_SRID)

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime",
                          "filter", "filter-lang", "filter-crs"})
FORMATS = ("json", "html")


def crs_list() -> list[str]:
    """Return the URIs of every CRS the API answers in, CRS84 (the default) first."""
    return [CRS84_URI, *(EPSG_URI.format(srid) for srid in PUBLISHED_SRIDS)]


@dataclass(frozen=True)
class RequestCRS:
    """A CRS asked for by URI: its x/y EPSG code and whether its axes come y first."""

    uri: str
    srid: int  # x/y, as geodata.crs transforms (CRS84 is 4326 x/y)
    swap: bool  # northing (or latitude) first on the wire

    @property
    def decimals(self) -> int:
        """Decimals written: 0.1 mm in degrees (9) and 1 mm in metres (3)."""
        return 9 if self.srid == WEB_SRID else 3


CRS84 = RequestCRS(CRS84_URI, WEB_SRID, False)


def request_crs(value: str | None, name: str) -> RequestCRS:
    """Return the CRS a parameter names; InvalidParameter (400) unless the API offers it."""
    if value is None or value == "":
        return CRS84
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):  # a safe CURIE, [EPSG:3006]
        text = "urn:ogc:def:crs:" + text[1:-1].replace(":", "::", 1)
    try:
        with translation.override("en"):  # the OGC API answers in English throughout
            srid, authority = parse_crs(text)
    except UnknownCRS as exc:
        raise InvalidParameter(f"{name}: {exc}") from exc
    if srid is None:
        return CRS84
    if not authority or srid not in PUBLISHED_SRIDS:
        raise InvalidParameter(
            f"{name}: {value[:80]!r} is not offered; give one of the collection's crs "
            f"URIs, such as {EPSG_URI.format(STORAGE_SRID)} or {CRS84_URI}")
    return RequestCRS(EPSG_URI.format(srid), srid, northing_first(text))


def output_format(request: HttpRequest) -> str:
    """Return ``json`` or ``html``: the f parameter first, then the Accept header."""
    f = request.GET.get("f")
    if f is not None:
        if f not in FORMATS:
            raise InvalidParameter(f"f must be one of {', '.join(FORMATS)}, not {f[:40]!r}")
        return f
    accept = request.headers.get("Accept", "")
    html = accept.find("text/html")
    json_at = [i for i in (accept.find("json"), accept.find("application/geo+json")) if i >= 0]
    if html >= 0 and (not json_at or html < min(json_at)):
        return "html"
    return "json"


def check_known(request: HttpRequest, allowed: frozenset[str]) -> None:
    """Refuse a query parameter the operation does not define (/req/core/query-param-unknown)."""
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        raise InvalidParameter(f"unknown query parameter {unknown[0][:40]!r}; this operation "
                               f"takes {', '.join(sorted(allowed))}")


def whole_number(value: str | None, name: str, default: int, minimum: int) -> int:
    """Return a whole-number parameter; InvalidParameter if it is not one or too small."""
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,12}", value.strip()):
        raise InvalidParameter(f"{name} must be a whole number, not {value[:40]!r}")
    number = int(value)
    if number < minimum:
        raise InvalidParameter(f"{name} must be at least {minimum}")
    return number


def page_limit(value: str | None) -> int:
    """Return the page size: 10 unless asked, at most 10,000 (a larger ask gets 10,000)."""
    return min(whole_number(value, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)


def _numbers(value: str, name: str) -> list[float]:
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        raise InvalidParameter(f"{name} must be numbers separated by commas") from None
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter(f"{name} must be finite numbers")
    return numbers


def bbox_geometry(value: str, crs: RequestCRS) -> GEOSGeometry | None:
    """Return a bbox (4 or 6 numbers, in the CRS's axis order) as a storage-CRS polygon.

    None if it lies nowhere near Sweden. The box is straight in its own CRS and curved in
    the storage CRS: its edges are densified before they are transformed, so that nothing
    at its edge is lost.
    """
    numbers = _numbers(value, "bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4:
        raise InvalidParameter("bbox must have 4 numbers (or 6, with heights)")
    a1, b1, a2, b2 = numbers
    x1, y1, x2, y2 = (b1, a1, b2, a2) if crs.swap else (a1, b1, a2, b2)
    if x1 > x2 or y1 > y2:
        raise InvalidParameter("bbox: the lower corner comes first, then the upper "
                               "(a box across the antimeridian is not supported)")
    if crs.srid == WEB_SRID and not (-180 <= x1 <= x2 <= 180 and -90 <= y1 <= y2 <= 90):
        raise InvalidParameter("bbox: longitudes lie within ±180 and latitudes within ±90 "
                               "(in CRS84 the longitude comes first)")
    return storage_geometry(shapely.box(x1, y1, x2, y2), crs.srid, "bbox")


# Every published feature lies in Sweden. A geometry from a request is clipped to a wide
# area around it, in its own CRS, before it is transformed: a box of the whole world in
# CRS84 is a fair question, but a transverse Mercator projection of it is not finite.
AROUND_SWEDEN_DEGREES = shapely.box(0.0, 50.0, 40.0, 75.0)
AROUND_SWEDEN_METRES = shapely.box(-1_500_000.0, 5_500_000.0, 2_500_000.0, 8_500_000.0)


def storage_geometry(shape: shapely.Geometry, srid: int, name: str) -> GEOSGeometry | None:
    """Return an x/y geometry in ``srid`` as a GEOS geometry in the storage CRS.

    None if it lies nowhere near Sweden (nothing published can intersect it). Lines and
    edges are densified before they are transformed, so that they keep their shape.
    """
    around = AROUND_SWEDEN_DEGREES if srid == WEB_SRID else AROUND_SWEDEN_METRES
    if not shapely.contains_properly(around, shape):
        shape = shapely.intersection(around, shape)
        if shape.is_empty:
            return None
    if srid != STORAGE_SRID and shape.geom_type != "Point":
        x0, y0, x1, y1 = shape.bounds
        span = max(x1 - x0, y1 - y0)
        if span > 0:
            shape = shapely.segmentize(shape, span / 32)
    stored = to_srid(shape, srid, STORAGE_SRID)
    coords = shapely.get_coordinates(stored)
    if coords.size == 0 or not np.isfinite(coords).all():
        raise InvalidParameter(f"{name} cannot be transformed to the storage CRS")
    return GEOSGeometry(memoryview(shapely.to_wkb(stored)), srid=STORAGE_SRID)


_DATE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(T[0-9:.]+(Z|[+-][0-9:]+)?)?$", re.I)


def _day(text: str) -> date | None:
    if text in ("", ".."):
        return None
    match = _DATE.match(text.strip())
    if not match:
        raise InvalidParameter("datetime must be an RFC 3339 date or date-time, or an "
                               f"interval of them (a/b, ../b, a/..), not {text[:40]!r}")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise InvalidParameter(f"datetime: {text[:40]!r} is not a date") from None


def datetime_interval(value: str) -> tuple[date | None, date | None]:
    """Return the days a datetime parameter spans (either end open: None)."""
    if "/" in value:
        start, _, end = value.partition("/")
        first, last = _day(start), _day(end)
        if first and last and first > last:
            raise InvalidParameter("datetime: the interval ends before it starts")
        return first, last
    day = _day(value)
    if day is None:
        raise InvalidParameter("datetime must name a date or an interval")
    return day, day
