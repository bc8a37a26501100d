"""Build the maps of the permit pages from emap elements (views stay thin)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from emap.elements import PinPicker, PointLayer
from emap.maps import LovkartaMap, MapFragment, render, wms_background
from geodata.crs import STORAGE_SRID, WEB_SRID, point_to_srid
from permits.models import Application


def _base_map(label: str) -> LovkartaMap:
    m = LovkartaMap(label=label)
    wms_background(settings.LOVKARTA_BACKGROUND_WMS, settings.LOVKARTA_BACKGROUND_LAYERS,
                   _("Background map: Lovkarta demo data")).add_to(m)
    return m


def pin_map(fields: dict[str, str]) -> MapFragment:
    """Return the applicant's map: click to pin, see the parcel under the pin."""
    m = _base_map(_("Map: click where you want to build to choose the property"))
    PinPicker(lookup_url=reverse("geodata:parcel-at"), fields=fields, texts={
        "looking": _("Looking up the property…"),
        "none": _("No property found at that point. Pin again inside a property."),
        "failed": _("The property could not be looked up right now; you can still submit."),
        "pin": _("Your pin"),
    }).add_to(m)
    return render(m)


def applications_map(applications: list[Application]) -> MapFragment:
    """Return the officer's map of applications."""
    m = _base_map(_("Map of the applications"))
    points = []
    for a in applications:
        lon, lat = point_to_srid(a.location.x, a.location.y, STORAGE_SRID, WEB_SRID)
        points.append({"lat": lat, "lon": lon, "url": reverse("permits:application", args=[a.pk]),
                       "label": f"{a.case_number} {a.property_designation}".strip()})
    PointLayer(points).add_to(m)
    return render(m)
