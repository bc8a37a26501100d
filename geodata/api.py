"""HTTP API v1 of the geodata cache (JSON / GeoJSON). The OpenAPI document is openapi.py."""

from __future__ import annotations

import math
from typing import Any

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from geodata import geojson, selectors
from geodata.crs import STORAGE_SRID, WEB_SRID, srid_of
from geodata.errors import GeodataError, InvalidInput
from geodata.geojson_input import geometry_from_geojson, request_json
from geodata.models import Address, Parcel, Plan
from geodata.selectors import (
    DataAge,
    DetailReport,
    addresses_search,
    detail_report,
    neighbours,
    parcel_at,
    parcels_by_designation,
    storage_point,
)

GEOJSON = "application/geo+json"
MAX_RESULTS = 50


def _error(status: int, code: str, description: str) -> JsonResponse:
    # "error" repeats the description for the clients (and the OpenAPI document) of the
    # first v1 answers, which had only that key.
    return JsonResponse({"code": code, "description": description, "error": description},
                        status=status)


def _age(age: DataAge) -> dict[str, Any]:
    return {"data_synced_at": age.synced_at.isoformat() if age.synced_at else None,
            "data_age_seconds": age.seconds}


# Every answer says how old its data is: the last good sync of its sources, a MAX over the
# sync runs. It is kept for a minute (a sync is seen within DATA_AGE_SECONDS); an unknown
# age (no good sync yet) is asked again each time.
DATA_AGE_SECONDS = 60


def data_age(source_ids: set[int]) -> DataAge:
    """Return the age of these sources' data (``selectors.data_age``), cached briefly."""
    if not source_ids:
        return DataAge(None)
    key = "lovkarta:data-age:" + ",".join(str(i) for i in sorted(source_ids))
    synced_at = cache.get(key)
    if synced_at is None:
        synced_at = selectors.data_age(source_ids).synced_at
        if synced_at is not None:
            cache.set(key, synced_at, DATA_AGE_SECONDS)
    return DataAge(synced_at)


def parcel_properties(parcel: Parcel, with_age: bool = True) -> dict[str, Any]:
    """Return the public properties of a parcel, with the age of the data."""
    props = {
        "beteckning": parcel.beteckning,
        "objektidentitet": str(parcel.objektidentitet),
        "registerenhetsreferens": str(parcel.registerenhetsreferens),
        "kommunkod": parcel.kommunkod,
        "trakt": parcel.trakt, "block": parcel.block, "enhet": parcel.enhet,
        "etikett": parcel.etikett,
        "omradesnummer": parcel.omradesnummer,
        "objekttyp": parcel.objekttyp,
        "area_m2": round(parcel.geom.area, 1),
    }
    if with_age:
        props.update(_age(data_age({parcel.source_id})))
    return props


def plan_properties(plan: Plan) -> dict[str, Any]:
    """Return the public properties of a detailed plan."""
    return {"objektidentitet": str(plan.objektidentitet), "beteckning": plan.beteckning,
            "namn": plan.namn, "status": plan.status, "typ": plan.typ,
            "datumAntagande": plan.datum_antagande and plan.datum_antagande.isoformat(),
            "datumLagakraft": plan.datum_lagakraft and plan.datum_lagakraft.isoformat(),
            "genomforandetid": plan.genomforandetid}


def address_properties(address: Address) -> dict[str, Any]:
    """Return the public properties of an address."""
    return {"objektidentitet": str(address.objektidentitet), "adress": address.adress,
            "postnummer": address.postnummer, "postort": address.postort,
            "kommunkod": address.kommunkod,
            "registerenhetsreferens": str(address.registerenhetsreferens or "") or None}


def _srids(request: HttpRequest, default: int = STORAGE_SRID) -> tuple[int, int]:
    """Return the CRS of the input (``srid``) and of the answer (``crs``)."""
    return (srid_of(request.GET.get("srid", str(default))),
            srid_of(request.GET.get("crs", str(WEB_SRID))))


def _xy(request: HttpRequest) -> tuple[float, float]:
    try:
        x, y = float(request.GET["x"]), float(request.GET["y"])
    except (KeyError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidInput(_("x and y must be numbers (x is the easting or longitude, y the "
                             "northing or latitude)."))
    return x, y


def api_view(methods: list[str]) -> Any:
    """Wrap a view: allowed methods, and every geodata error as its own status and code."""
    def wrap(view: Any) -> Any:
        @require_http_methods(methods)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            try:
                return view(request, *args, **kwargs)  # type: ignore[no-any-return]
            except GeodataError as exc:
                return _error(exc.http_status, exc.code, str(exc))
        inner.__name__ = view.__name__
        inner.__doc__ = view.__doc__
        return csrf_exempt(inner) if "POST" in methods else inner
    return wrap


@api_view(["GET"])
def parcel_at_view(request: HttpRequest) -> JsonResponse:
    """Return the parcel at ``x``, ``y`` (in ``srid``, default 3006) as a GeoJSON Feature.

    The geometry is in CRS84 (lon/lat) unless ``crs`` names another EPSG code.
    """
    x, y = _xy(request)
    srid, out_srid = _srids(request)
    parcel = parcel_at(x, y, srid)
    if parcel is None:
        return _error(404, "not_found", _("There is no property at that point."))
    return JsonResponse(geojson.feature(parcel.geom, parcel_properties(parcel), out_srid,
                                        fid=str(parcel.objektidentitet)), content_type=GEOJSON)


def _text(request: HttpRequest, name: str) -> str:
    """Return a text parameter; NUL is refused as bad input (PostgreSQL's text cannot
    hold it, so it would fail the query)."""
    value = request.GET.get(name, "")
    if "\x00" in value:
        raise InvalidInput(_("%(name)s must not contain the NUL character (\\u0000).")
                           % {"name": name})
    return value


def _limit(request: HttpRequest) -> int:
    try:
        return max(1, min(MAX_RESULTS, int(request.GET.get("limit", 10))))
    except ValueError:
        raise InvalidInput(_("limit must be a whole number.")) from None


@api_view(["GET"])
def parcel_search_view(request: HttpRequest) -> JsonResponse:
    """Search properties by designation (``q``), tolerant and prefix-completing."""
    query = _text(request, "q")
    _srid, out_srid = _srids(request)
    parcels = parcels_by_designation(query, _text(request, "kommunkod") or None,
                                     _limit(request))
    features = [geojson.feature(p.geom, parcel_properties(p, with_age=False), out_srid,
                                fid=str(p.objektidentitet)) for p in parcels]
    return JsonResponse({"type": "FeatureCollection", "features": features,
                         **_age(data_age({p.source_id for p in parcels}))},
                        content_type=GEOJSON)


@api_view(["GET"])
def address_search_view(request: HttpRequest) -> JsonResponse:
    """Search addresses by prefix (``q``)."""
    _srid, out_srid = _srids(request)
    found = addresses_search(_text(request, "q"), _text(request, "kommunkod") or None,
                             _limit(request))
    features = [geojson.feature(a.geom, address_properties(a), out_srid,
                                fid=str(a.objektidentitet)) for a in found]
    return JsonResponse({"type": "FeatureCollection", "features": features,
                         **_age(data_age({a.source_id for a in found}))},
                        content_type=GEOJSON)


def _request_geometry(request: HttpRequest) -> GEOSGeometry:
    if request.method == "POST":
        srid, _out = _srids(request, default=WEB_SRID)
        shape = geometry_from_geojson(request_json(request), srid=srid)
        return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)
    srid, _out = _srids(request)
    x, y = _xy(request)
    return storage_point(x, y, srid)


def report_json(report: DetailReport, out_srid: int) -> dict[str, Any]:
    """Return a detail report as JSON: parcels, plans and regulations with overlaps."""
    return {
        "parcels": [geojson.feature(p.geom, parcel_properties(p, with_age=False), out_srid,
                                    fid=str(p.objektidentitet)) for p in report.parcels],
        "plans": [plan_properties(p) for p in report.plans],
        "outside_plan": report.outside_plan,
        "regulations": [{
            "objektidentitet": str(h.regulation.objektidentitet),
            "plan_objektidentitet": str(h.regulation.plan_objektidentitet or "") or None,
            "bestammelsekod": h.regulation.bestammelsekod,
            "bestammelsetyp": h.regulation.bestammelsetyp,
            "anvandningsform": h.regulation.anvandningsform,
            "beteckning": h.regulation.beteckning,
            "bestammelseformulering": h.regulation.bestammelseformulering,
            "varde": h.regulation.varde,
            "overlap_m2": h.overlap_m2, "share_percent": h.share_percent,
            "catalogue": {
                "id": str(h.catalogue.catalogue_id), "release": h.catalogue.release,
                "kategori": h.catalogue.kategori, "underkategori": h.catalogue.underkategori,
                "bestammelseformulering": h.catalogue.bestammelseformulering,
                "uttrycktvarde": h.catalogue.uttrycktvarde or None,
                "farg": h.catalogue.farg or None,
            } if h.catalogue else None,
        } for h in report.regulations],
        **_age(report.age),
    }


@api_view(["GET", "POST"])
def detail_report_view(request: HttpRequest) -> JsonResponse:
    """Report what lies at ``x``, ``y`` (GET) or under a posted GeoJSON geometry (POST)."""
    geometry = _request_geometry(request)
    _srid, out_srid = _srids(request)
    return JsonResponse(report_json(detail_report(geometry), out_srid))


@api_view(["GET"])
def neighbours_view(request: HttpRequest, objektidentitet: str) -> JsonResponse:
    """Return the neighbours of a property: touching, and directly across a road."""
    _srid, out_srid = _srids(request)
    parcel = Parcel.objects.filter(objektidentitet=objektidentitet).first()
    if parcel is None:
        return _error(404, "not_found", _("There is no such property."))
    found = neighbours(parcel)

    def collection(parcels: list[Parcel]) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": [
            geojson.feature(p.geom, parcel_properties(p, with_age=False), out_srid,
                            fid=str(p.objektidentitet)) for p in parcels]}

    return JsonResponse({"parcel": parcel.beteckning, "touching": collection(found.touching),
                         "across_road": collection(found.across_road),
                         "roads": [p.beteckning for p in found.roads],
                         **_age(data_age({parcel.source_id}))})


@require_GET
def openapi_view(request: HttpRequest) -> JsonResponse:
    """Serve the OpenAPI 3.1 document of this API."""
    from geodata.openapi import document

    return JsonResponse(document(request.build_absolute_uri("/api/v1/")))
