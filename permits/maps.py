"""Build the maps of the permit pages from emap elements (views stay thin)."""

from __future__ import annotations

from typing import Any

import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from django.utils.translation import gettext as _

from emap.elements import DrawTool, Legend, Outlines, PinPicker, PointLayer
from emap.maps import LovkartaMap, MapFragment, render, tile_background, wms_background
from geodata.crs import STORAGE_SRID, WEB_SRID, point_to_srid, to_srid
from geodata.selectors import BackgroundMap, background_map
from permits.models import Application, DrawnFeature

PIN_FIELDS = {"lat": "id_lat", "lon": "id_lon", "parcel": "id_parcel",
              "designation": "property-designation", "summary": "property-summary"}
DRAW_FIELDS = {"drawn": "id_drawn", "kind": "id_draw_kind", "list": "drawn-list"}


def _base_map(label: str, center: tuple[float, float] | None = None,
              zoom: int = 15, extra: list[tuple[str, str]] | None = None,
              kommunkod: str | None = None) -> LovkartaMap:
    m = LovkartaMap(label=label, **({"center": center} if center else {}), zoom=zoom)
    background = background_source(kommunkod)
    attribution = _("Background map: Lovkarta demo data")
    if background.tiles:
        tile_background(background.tiles, attribution, background.max_zoom).add_to(m)
    else:
        wms_background(background.url, background.layers, attribution).add_to(m)
    # The styles of the background map's layers (fixtures/mapserver/lovkarta.map.in).
    Legend(_("Legend"), [
        (_("Property boundary"), "border: 2px solid #aa2828"),
        (_("Detailed plan boundary"), "border: 3px solid #285aaa"),
        (_("Land where no building is allowed"), "background: rgba(120,120,120,.45)"),
        (_("Housing (B)"), "background: rgba(255,235,150,.7)"),
        (_("Building"), "background: #d6c8be; border: 1px solid #96786e"),
        (_("Water"), "background: #aad3df"),
        *(extra or []),
    ]).add_to(m)
    return m


def background_source(kommunkod: str | None = None) -> BackgroundMap:
    """Return the background map: a registered WMTS or WMS source (the municipality's
    own first; the installation's default municipality's for a map of no one
    municipality), else the settings'."""
    return (background_map(kommunkod or settings.LOVKARTA_DEFAULT_KOMMUNKOD)
            or BackgroundMap(settings.LOVKARTA_BACKGROUND_WMS,
                             settings.LOVKARTA_BACKGROUND_LAYERS))


def _web(geom: GEOSGeometry) -> dict[str, Any]:
    shape = to_srid(shapely.from_wkb(bytes(geom.wkb)), geom.srid or STORAGE_SRID, WEB_SRID)
    return shapely.geometry.mapping(shape)  # type: ignore[no-any-return]


def _collection(features: list[tuple[GEOSGeometry, dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": _web(g), "properties": p} for g, p in features]}


def application_map(application: Application) -> MapFragment:
    """Return the applicant's map: pin, property outline, site, drawings."""
    center = None
    if application.location is not None:
        lon, lat = point_to_srid(application.location.x, application.location.y,
                                 STORAGE_SRID, WEB_SRID)
        center = (lat, lon)
    m = _base_map(_("Map: click where you want to build to choose the property, then draw "
                    "what you will build"), center, zoom=18 if center else 15, extra=[
        (_("Your property"), "border: 3px solid #b00020"),
        (_("What you have drawn"), "background: rgba(11,79,138,.3); border: 2px solid #0b4f8a"),
    ], kommunkod=application.municipality.kommunkod if application.municipality else None)
    if application.site is not None:
        Outlines(_collection([(application.site, {})]),
                 {"color": "#7a3d00", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.05}
                 ).add_to(m)
    PinPicker(lookup_url=reverse("geodata:parcel-at"), report_url=reverse(
        "geodata:detail-report"), fields=PIN_FIELDS, texts={
        "looking": _("Looking up the property…"),
        "none": _("No property found at that point. Pin again inside a property."),
        "failed": _("The property could not be looked up right now; you can still submit."),
        "pin": _("Your pin"), "plan": _("Detailed plan:"),
        "outside": _("Outside detailed plan."),
    }).add_to(m)
    kinds = {k: str(v) for k, v in DrawnFeature.Kind.choices}
    DrawTool(DRAW_FIELDS, _collection([(d.geom, {"kind": d.kind})
                                        for d in application.drawn.all()]),
             {"m2": "m²", "m": "m", "nothing": _("Nothing drawn yet.")}, kinds).add_to(m)
    return render(m)


def applications_map(applications: list[Application]) -> MapFragment:
    """Return the officer's map of applications."""
    m = _base_map(_("Map of the applications"))
    points = []
    for a in applications:
        if a.location is None:
            continue
        lon, lat = point_to_srid(a.location.x, a.location.y, STORAGE_SRID, WEB_SRID)
        points.append({"lat": lat, "lon": lon, "url": reverse("permits:application", args=[a.pk]),
                       "label": f"{a.case_number} {a.property_designation}".strip()})
    PointLayer(points).add_to(m)
    return render(m)
