"""Coordinate reference systems: the one place that knows about axis order.

Every geometry inside Lovkarta is x/y (easting, northing; longitude, latitude). Adapters
ask :func:`parse_crs` what a source's CRS string means and :func:`northing_first` whether
its wire format must be swapped; every transformer is built here with ``always_xy=True``.
Its errors are in the active language (the API's caller's, by Accept-Language).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import shapely
from django.utils.translation import gettext as _
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geodata.errors import CRSMismatch, UnknownCRS

STORAGE_SRID = 3006  # SWEREF 99 TM
WEB_SRID = 4326  # WGS 84, what Leaflet speaks
CRS84 = "OGC:CRS84"

# The CRSs Lovkarta accepts: SWEREF 99 TM and its local zones, RT 90, WGS 84, ETRS89,
# and web mercator for background tiles.
SUPPORTED_SRIDS = frozenset({3006, *range(3007, 3019), 3021, 4326, 4258, 3857})

# Codes are ASCII digits only: ``int()`` takes other scripts' digits (Arabic-Indic,
# superscripts) and ``\w`` matches them, so a pattern of ``\w+`` would let them through.
_URN = re.compile(r"^urn:ogc:def:crs:(EPSG|OGC):[^:]*:([A-Za-z0-9]+)$", re.I)
_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/(EPSG|OGC)/[^/]+/([A-Za-z0-9]+)$", re.I)
_SHORT = re.compile(r"^(EPSG|OGC):([A-Za-z0-9]+)$", re.I)
_CODE = re.compile(r"^[0-9]{1,9}$")


def _shown(text: str) -> str:
    """The text quoted, cut short: an error says what it refused, not all of it."""
    return repr(text if len(text) <= 80 else text[:80] + "…")


def _unknown(text: str) -> UnknownCRS:
    return UnknownCRS(_("Unknown coordinate reference system %(crs)s: give an EPSG code "
                        "such as 3006, EPSG:3006 or urn:ogc:def:crs:EPSG::3006.")
                      % {"crs": _shown(text)})


@lru_cache(maxsize=64)
def parse_crs(value: str | int) -> tuple[int | None, bool]:
    """Return ``(srid, authority_axis_order)`` for a CRS in any form.

    ``srid`` is None for CRS84 (lon/lat, which we store as 4326 x/y). The flag says
    whether the *form* implies the authority's axis order (URN and URI forms do; the
    short ``EPSG:n`` form is taken as x/y, as WMS 1.1.1, shapefiles and GDAL do).
    Raises :class:`UnknownCRS` (a 400) for anything it cannot read or does not support.
    """
    text = str(value).strip()
    if _CODE.match(text):
        srid, authority = int(text), False
    else:
        matches = [(p.match(text), axis) for p, axis in ((_URN, True), (_URI, True),
                                                         (_SHORT, False))]
        found = next(((m, axis) for m, axis in matches if m), None)
        if found is None:
            raise _unknown(text)
        match, authority = found
        auth, code = match.group(1).upper(), match.group(2).upper()
        if auth == "OGC":
            if code != "CRS84":
                raise UnknownCRS(_("Unsupported OGC coordinate reference system %(crs)s: "
                                   "of the OGC's, only CRS84 is supported.")
                                 % {"crs": _shown(text)})
            return None, False
        if not _CODE.match(code):
            raise _unknown(text)
        srid = int(code)
    if srid not in SUPPORTED_SRIDS:
        raise UnknownCRS(_("EPSG:%(srid)d is not a supported coordinate reference system.")
                         % {"srid": srid})
    return srid, authority


def srid_of(value: str | int) -> int:
    """Return the EPSG code of a CRS in any form (CRS84 gives 4326)."""
    srid = parse_crs(value)[0]
    return srid or WEB_SRID


@lru_cache(maxsize=32)
def _northing_first(srid: int) -> bool:
    axes = CRS.from_epsg(srid).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


def northing_first(value: str | int) -> bool:
    """Return True if coordinates in this CRS form arrive northing/latitude first."""
    srid, authority = parse_crs(value)
    if srid is None or not authority:
        return False
    return _northing_first(srid)


@lru_cache(maxsize=64)
def transformer(source_srid: int, target_srid: int) -> Transformer:
    """Return a cached x/y transformer between two EPSG codes."""
    try:
        return Transformer.from_crs(source_srid, target_srid, always_xy=True)
    except CRSError as exc:
        raise CRSMismatch(_("Coordinates cannot be transformed from EPSG:%(source)d to "
                            "EPSG:%(target)d.") % {"source": source_srid,
                                                   "target": target_srid}) from exc


def swap_xy(geom: shapely.Geometry) -> shapely.Geometry:
    """Return the geometry with its two axes exchanged."""
    return shapely.transform(geom, lambda c: c[:, ::-1])


def to_srid(geom: shapely.Geometry, source_srid: int, target_srid: int) -> shapely.Geometry:
    """Transform an x/y geometry between EPSG codes."""
    if source_srid == target_srid:
        return geom
    t = transformer(source_srid, target_srid)
    return shapely.transform(geom, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


def point_to_srid(x: float, y: float, source_srid: int, target_srid: int) -> tuple[float, float]:
    """Transform one x/y point."""
    if source_srid == target_srid:
        return x, y
    tx, ty = transformer(source_srid, target_srid).transform(x, y)
    return float(tx), float(ty)


# SWEREF 99 TM easting and northing ranges that hold all of Sweden, with a margin.
SWEDEN_3006 = (180_000.0, 6_050_000.0, 1_000_000.0, 7_800_000.0)


def check_sweden(x: float, y: float, srid: int) -> None:
    """Raise CRSMismatch if an x/y point in ``srid`` cannot lie in Sweden (swapped axes)."""
    if srid == STORAGE_SRID:  # the common case needs no transformation
        x0, y0, x1, y1 = SWEDEN_3006
        inside = x0 <= x <= x1 and y0 <= y <= y1
    else:
        lon, lat = point_to_srid(x, y, srid, WEB_SRID)
        inside = 10.0 <= lon <= 24.5 and 55.0 <= lat <= 69.5
    if not inside:
        raise CRSMismatch(
            _("The point (%(x).3f, %(y).3f) in EPSG:%(srid)d lies outside Sweden: are "
              "easting and northing (or longitude and latitude) swapped?")
            % {"x": x, "y": y, "srid": srid})
