"""HTTP API v1 of the geodata cache (JSON / GeoJSON)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from geodata import geojson
from geodata.crs import WEB_SRID, srid_of
from geodata.errors import CRSMismatch
from geodata.models import Parcel
from geodata.selectors import parcel_at, parcel_data_age


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def parcel_properties(parcel: Parcel) -> dict[str, Any]:
    """Return the public properties of a parcel, with the age of the data."""
    age = parcel_data_age(parcel)
    return {
        "beteckning": parcel.beteckning,
        "objektidentitet": str(parcel.objektidentitet),
        "registerenhetsreferens": str(parcel.registerenhetsreferens),
        "kommunkod": parcel.kommunkod,
        "etikett": parcel.etikett,
        "omradesnummer": parcel.omradesnummer,
        "objekttyp": parcel.objekttyp,
        "area_m2": round(parcel.geom.area, 1),
        "data_synced_at": age.synced_at.isoformat() if age.synced_at else None,
        "data_age_seconds": age.seconds,
    }


@require_GET
def parcel_at_view(request: HttpRequest) -> JsonResponse:
    """Return the parcel at ``x``, ``y`` (in ``srid``, default 3006) as a GeoJSON Feature.

    The geometry is in CRS84 (lon/lat) unless ``crs`` names another EPSG code.
    """
    try:
        x = float(request.GET["x"])
        y = float(request.GET["y"])
    except (KeyError, ValueError):
        return _error(400, "x and y must be numbers (x = easting or longitude)")
    try:
        srid = srid_of(request.GET.get("srid", "3006"))
        out_srid = srid_of(request.GET.get("crs", str(WEB_SRID)))
        parcel = parcel_at(x, y, srid)
    except CRSMismatch as exc:
        return _error(400, str(exc))
    if parcel is None:
        return _error(404, "no parcel at that point")
    return JsonResponse(geojson.feature(parcel.geom, parcel_properties(parcel), out_srid,
                                        fid=str(parcel.objektidentitet)),
                        content_type="application/geo+json")
