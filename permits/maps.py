"""Build the maps of the permit pages from emap elements (views stay thin)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from emap.elements import (
    ClickReport,
    DrawTool,
    LayerSwitcher,
    Legend,
    MeasureTool,
    Outlines,
    PinPicker,
    PointLayer,
    VectorTiles,
)
from emap.maps import LovkartaMap, MapFragment, render, tile_background, wms_background
from geodata.crs import STORAGE_SRID, WEB_SRID, point_to_srid, to_srid
from geodata.models import Parcel, Plan
from geodata.selectors import (
    BackgroundMap,
    background_map,
    detail_report,
    neighbours,
    property_parcels,
)
from geodata.tiles import ALL_CACHE_LAYERS, CACHE_LAYERS
from permits.models import Application, DrawnFeature
from permits.selectors.review import CASE_CLUSTERS_MIN_ZOOM, CASES_MIN_ZOOM, SOON_DAYS
from permits.workflow import Status

PIN_FIELDS = {"lat": "id_lat", "lon": "id_lon", "parcel": "id_parcel",
              "designation": "property-designation", "summary": "property-summary"}
DRAW_FIELDS = {"drawn": "id_drawn", "kind": "id_draw_kind", "list": "drawn-list"}


def _base_map(label: str, center: tuple[float, float] | None = None,
              zoom: int = 15, extra: list[tuple[str, str]] | None = None,
              kommunkod: str | None = None, switchable: bool = False) -> LovkartaMap:
    m = LovkartaMap(label=label, **({"center": center} if center else {}), zoom=zoom)
    background = background_source(kommunkod)
    attribution = _("Background map: Lovkarta demo data")
    name = _("Background map")
    if background.tiles:
        tile_background(background.tiles, attribution, background.max_zoom, name=name,
                        control=switchable).add_to(m)
    else:
        wms_background(background.url, background.layers, attribution, name=name,
                       control=switchable).add_to(m)
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


# The officer's review map: cases and the cache layers as vector tiles, never a whole
# layer. Each layer has its own minimum zoom (geodata.tiles.CACHE_LAYERS; the cases' in
# permits.selectors.review: points from CASES_MIN_ZOOM, clusters from
# CASE_CLUSTERS_MIN_ZOOM): the map asks for no tile below it.
MAX_NATIVE_ZOOM = 18
CLUSTER_COLOUR = "#0b4f8a"
CASE_COLOURS = {"overdue": "#b00020", "soon": "#b35300", "open": "#0b4f8a",
                "closed": "#5f5f5f"}
CACHE_STYLES: dict[str, dict[str, Any]] = {
    "plans": {"color": "#285aaa", "weight": 3, "fill": False},
    "regulations": {"color": "#6a3d9a", "weight": 1, "dashArray": "4 3", "fill": True,
                    "fillColor": "#b89ad6", "fillOpacity": 0.15},
    "parcels": {"color": "#aa2828", "weight": 1, "fill": False},
    "buildings": {"color": "#96786e", "weight": 1, "fill": True, "fillColor": "#d6c8be",
                  "fillOpacity": 0.8},
}


def tile_url(name: str, *args: Any) -> str:
    """Return the XYZ template of a tile view's URL (the view takes z, x, y last)."""
    return reverse(name, args=[*args, 0, 0, 0]).replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")


def _case_styles() -> dict[str, Any]:
    point = {band: {"radius": 7, "weight": 2, "color": "#ffffff", "fill": True,
                    "fillColor": colour, "fillOpacity": 0.9}
             for band, colour in CASE_COLOURS.items()}
    site = {band: {"weight": 2, "color": colour, "fill": True, "fillColor": colour,
                   "fillOpacity": 0.12} for band, colour in CASE_COLOURS.items()}
    # A cluster's circle grows with the logarithm of its count (full size at 1,000) and
    # carries the count as its label.
    cluster = {"sizeBy": "count", "label": "count", "labelColor": "#ffffff",
               "radius": [11, 26], "full": 1000,
               "style": {"weight": 3, "color": "#ffffff", "opacity": 0.9, "fill": True,
                         "fillColor": CLUSTER_COLOUR, "fillOpacity": 0.85}}
    return {"cases": {"by": "band", "styles": point, "default": point["open"]},
            "case_sites": {"by": "band", "styles": site, "default": site["open"]},
            "case_clusters": cluster}


def _fit_zoom(extent: tuple[float, float, float, float] | None) -> tuple[
        tuple[float, float] | None, int]:
    """Return a centre (lat, lon) and zoom showing a storage-CRS extent on a map about
    900 by 450 pixels, no further out than the cases are drawn (as clusters)."""
    if extent is None:
        return None, CASES_MIN_ZOOM
    minx, miny, maxx, maxy = extent
    lon, lat = point_to_srid((minx + maxx) / 2, (miny + maxy) / 2, STORAGE_SRID, WEB_SRID)
    x0, y0 = point_to_srid(minx, miny, STORAGE_SRID, 3857)
    x1, y1 = point_to_srid(maxx, maxy, STORAGE_SRID, 3857)
    world = 40_075_016.686
    fits = [math.log2(pixels / 256 * world / (1.2 * span))
            for pixels, span in ((900, x1 - x0), (450, y1 - y0)) if span > 0]
    zoom = int(min(fits)) if fits else 17
    return (lat, lon), max(CASE_CLUSTERS_MIN_ZOOM, min(17, zoom))


def review_map(*, cases_url: str, extent: tuple[float, float, float, float] | None,
               kommunkod: str | None, report_panel: str) -> MapFragment:
    """Return the officer's review map: the cases (styled by status and deadline) and the
    parcels, plans, plan regulations and buildings, all as vector tiles, a layer switcher,
    a legend, and the detail report of a clicked point written into ``report_panel``.

    ``cases_url`` is the cases' tile template with the queue's filters; ``extent`` (in
    the storage CRS) that of the filtered cases, to start the map over them."""
    center, zoom = _fit_zoom(extent)
    m = _base_map(_("Map of the cases: click a case for its summary, or anywhere else for "
                    "what lies there"), center, zoom, kommunkod=kommunkod, switchable=True,
                  extra=[
        (_("Case, overdue"), f"background: {CASE_COLOURS['overdue']}; border-radius: 50%"),
        (_("Case, deadline within %(days)d days") % {"days": SOON_DAYS},
         f"background: {CASE_COLOURS['soon']}; border-radius: 50%"),
        (_("Case, open"), f"background: {CASE_COLOURS['open']}; border-radius: 50%"),
        (_("Case, decided or closed"),
         f"background: {CASE_COLOURS['closed']}; border-radius: 50%"),
        (_("Cases zoomed out: the number says how many lie there; click to zoom in"),
         f"background: {CLUSTER_COLOUR}; border: 2px solid #ffffff; border-radius: 50%"),
        (_("Plan regulation area"), "background: rgba(184,154,214,.35); "
                                    "border: 1px dashed #6a3d9a"),
    ])
    labels = {"plans": (_("Detailed plans"), _("Zoom in to see the detailed plans.")),
              "regulations": (_("Plan regulation areas"),
                              _("Zoom in to see the plan regulation areas.")),
              "parcels": (_("Property boundaries"),
                          _("Zoom in to see the property boundaries.")),
              "buildings": (_("Buildings"), _("Zoom in to see the buildings."))}
    # The cache layers come together, one tile of all those drawn at its zoom: each
    # overlay draws its own layer of it (an empty style hides the others) and the script
    # fetches a tile once for all of them.
    for layer, style in CACHE_STYLES.items():
        name, hint = labels[layer]
        styles = {other: ([] if other != layer else style) for other in CACHE_STYLES}
        VectorTiles(name, tile_url("geodata:tile", ALL_CACHE_LAYERS), styles,
                    min_zoom=CACHE_LAYERS[layer].min_zoom, max_native_zoom=MAX_NATIVE_ZOOM,
                    hint=hint, key=layer).add_to(m)
    statuses = {s.value: str(s.label) for s in Status}
    VectorTiles(_("Cases"), cases_url, _case_styles(), min_zoom=CASE_CLUSTERS_MIN_ZOOM,
                max_native_zoom=MAX_NATIVE_ZOOM, hint=_("Zoom in to see the cases."),
                key="cases", clusters={"property": "count", "zoomTo": CASES_MIN_ZOOM},
                popup={
                    "title": "case_number",
                    "link": reverse("permits:officer-case", args=[0]).replace(
                        "/0/", "/{id}/"),
                    "rows": [[_("Status"), "status", statuses],
                             [_("Days left"), "days_left", {}],
                             [_("Overdue"), "overdue", {"true": _("yes"), "false": _("no")}]],
                }).add_to(m)
    LayerSwitcher(_("Layers"), position="topleft").add_to(m)
    ClickReport(reverse("geodata:detail-report"), report_panel, {
        "looking": _("Looking up what lies here…"),
        "failed": _("What lies here could not be looked up right now."),
        "at": _("At"), "property": _("Property:"), "nothing": _("No property here."),
        "plan": _("Detailed plan:"), "outside": _("Outside detailed plan."),
        "regulations": _("Plan regulations:"),
    }).add_to(m)
    return render(m)


# The case map on the officer's case page: everything on it is also listed as text.
@dataclass
class CaseMap:
    """The case page's map and the text equivalent of what is on it."""

    fragment: MapFragment
    property_areas: list[dict[str, Any]] = field(default_factory=list)
    property_m2: float = 0.0
    drawn: list[dict[str, Any]] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    regulations: list[dict[str, Any]] = field(default_factory=list)
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    measure_output: str = "case-map-measure"


def _drawn_rows(application: Application) -> list[tuple[GEOSGeometry, dict[str, Any]]]:
    rows = []
    for d in application.drawn.all():
        size = (f"{d.area_m2:g} m²" if d.geom.dims == 2 else
                f"{d.length_m:g} m" if d.geom.dims == 1 else "")
        rows.append((d.geom, {"label": f"{d.get_kind_display()} {size}".strip(),
                              "kind": str(d.get_kind_display()), "size": size}))
    return rows


def _neighbour_rows(parcel: Parcel) -> list[tuple[GEOSGeometry, dict[str, Any]]]:
    found = neighbours(parcel)
    relations = ((found.touching, _("touching")), (found.across_road, _("across the road")))
    return [(p.geom, {"label": p.beteckning, "designation": p.beteckning,
                      "area": p.omradesnummer, "relation": str(relation)})
            for group, relation in relations for p in group]


def case_review_map(application: Application) -> CaseMap:
    """Return the case map: the property (all its areas), what the applicant drew, the
    plans and plan regulation areas on the property, the neighbours to hear, a layer
    switcher and a measuring tool; and all of it as text."""
    kommunkod = application.municipality.kommunkod if application.municipality else None
    m = _base_map(_("Map of the case: the property, what is applied for, the plan and the "
                    "neighbours; the same is listed as text below the map"),
                  kommunkod=kommunkod, switchable=True, extra=[
        (_("The case's property"), "border: 3px solid #b00020"),
        (_("What the applicant drew"), "background: rgba(11,79,138,.3); "
                                      "border: 2px solid #0b4f8a"),
        (_("Neighbour to hear"), "background: rgba(224,160,0,.3); border: 2px solid #8a5a00"),
        (_("Plan regulation area"), "background: rgba(184,154,214,.35); "
                                    "border: 1px dashed #6a3d9a"),
    ])
    own = list(property_parcels(application.parcel)) if application.parcel else []
    area_geom = (_union([p.geom for p in own]) if own else application.site
                 or application.location)
    report = detail_report(area_geom) if area_geom is not None else None
    case_map = CaseMap(fragment=render(m))  # replaced below, once the map is complete
    if report is not None:
        case_map.plans = report.plans
        case_map.regulations = [{
            "code": h.regulation.beteckning or h.regulation.bestammelsekod,
            "kod": h.regulation.bestammelsekod, "text": h.regulation.bestammelseformulering,
            "overlap_m2": h.overlap_m2, "share_percent": h.share_percent,
            "geom": h.regulation.geom} for h in report.regulations]
        Outlines(_collection([(r["geom"], {"label": f"{r['code']}: {r['text']}"})
                              for r in case_map.regulations]),
                 {"color": "#6a3d9a", "weight": 1, "dashArray": "4 3", "fillColor": "#b89ad6",
                  "fillOpacity": 0.2, "className": "emap-regulation"},
                 name=_("Plan regulation areas"), label="label").add_to(m)
        Outlines(_collection([(p.geom, {"label": f"{p.beteckning} {p.namn}".strip()})
                              for p in report.plans]),
                 {"color": "#285aaa", "weight": 3, "fill": False, "className": "emap-plan"},
                 name=_("Detailed plans"), label="label").add_to(m)
    if application.parcel is not None:
        rows = _neighbour_rows(application.parcel)
        listed = {(props["designation"], props["relation"]): props for _g, props in rows}
        case_map.neighbours = list(listed.values())  # a property once, not each area
        Outlines(_collection(rows), {"color": "#8a5a00", "weight": 2, "fillColor": "#e0a000",
                                     "fillOpacity": 0.25, "className": "emap-neighbour"},
                 name=_("Neighbours"), label="label").add_to(m)
    case_map.property_areas = [{"designation": p.beteckning, "area": p.omradesnummer,
                                "m2": round(p.geom.area, 1)} for p in own]
    case_map.property_m2 = round(sum(p.geom.area for p in own), 1)
    if own:
        Outlines(_collection([(p.geom, {"label": p.beteckning}) for p in own]),
                 {"color": "#b00020", "weight": 3, "fillOpacity": 0.05,
                  "className": "emap-property"}, fit=True, name=_("The case's property"),
                 label="label").add_to(m)
    if application.site is not None:
        Outlines(_collection([(application.site, {})]),
                 {"color": "#7a3d00", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.05},
                 fit=not own).add_to(m)
    drawn = _drawn_rows(application)
    case_map.drawn = [props for _geom, props in drawn]
    if drawn:
        Outlines(_collection(drawn), {"color": "#0b4f8a", "weight": 2, "fillOpacity": 0.3,
                                      "className": "emap-drawn"},
                 fit=not own and application.site is None,
                 name=_("What the applicant drew"), label="label").add_to(m)
    if application.location is not None and not own:
        lon, lat = point_to_srid(application.location.x, application.location.y,
                                 STORAGE_SRID, WEB_SRID)
        m.location = [lat, lon]
        m.options["zoom"] = 18
    LayerSwitcher(_("Layers")).add_to(m)
    MeasureTool(case_map.measure_output, {
        "start": pgettext("map tool", "Measure"), "stop": _("Stop measuring"),
        "centre": _("Point at the centre"), "clear": _("Clear"),
        "distance": _("Distance:"), "area": _("Area:"), "points": _("Points:"),
        "help": _("Press Measure, then click the map point by point (or pan with the arrow "
                  "keys and press Point at the centre)."),
    }).add_to(m)
    case_map.fragment = render(m)
    return case_map


def _union(geometries: list[GEOSGeometry]) -> GEOSGeometry:
    shape = shapely.union_all([shapely.from_wkb(bytes(g.wkb)) for g in geometries])
    return GEOSGeometry(memoryview(shapely.to_wkb(shape)), srid=STORAGE_SRID)


def case_map_context(application: Application) -> dict[str, Any]:
    """Return the case page's context for its map (``map`` is what the page's head and
    scripts load; ``case_map`` the map and its text)."""
    case_map = case_review_map(application)
    return {"case_map": case_map, "map": case_map.fragment}
