"""Load the demo municipality: Sundsvall, its sources on the local OGC server, demo users."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from geodata.models import Municipality, Source
from permits.selectors.applications import GIS_GROUP, OFFICER_GROUP

DEMO_PASSWORD = "lovkarta-demo"  # noqa: S105 (demo accounts on 127.0.0.1 only)
DEMO_USERS = [
    # user name, first name, last name, group
    ("sokande", "Sara", "Sökande", None),
    ("handlaggare", "Henrik", "Handläggare", OFFICER_GROUP),
    ("gis", "Gunilla", "GIS", GIS_GROUP),
]


# name, protocol, layer, holds, preset, enabled
DEMO_SOURCES = [
    ("sundsvall-fastigheter", "wfs", "registerenhetsomradesytor", "parcels", "lantmateriet",
     True),
    ("sundsvall-fastigheter-ogcapi", "ogcapi-features", "registerenhetsomradesytor",
     "parcels", "lantmateriet", False),
    ("sundsvall-adresser", "ogcapi-features", "belagenhetsadress", "addresses",
     "lantmateriet", True),
    ("sundsvall-byggnader", "wfs", "byggnad", "buildings", "lantmateriet", True),
    ("sundsvall-detaljplaner", "ogcapi-features", "detaljplan", "plans", "boverket", True),
    ("sundsvall-planbestammelser", "wfs", "planbestammelse", "regulations", "boverket", True),
    ("sundsvall-aldre-planer", "wfs", "dp_aldre", "plans", "legacy", True),
    ("sundsvall-aldre-bestammelser", "wfs", "dp_aldre_bestammelser", "regulations", "legacy",
     True),
]


class Command(BaseCommand):
    help = "Create the demo municipality (Sundsvall 2281), its sources and demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ogc-url", default=settings.LOVKARTA_OGC_URL,
                            help="base URL of the local OGC server")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        sundsvall, _ = Municipality.objects.update_or_create(
            kommunkod="2281", defaults={"name": "Sundsvall"})
        url = options["ogc_url"].rstrip("/")
        Source.objects.update_or_create(name="boverket-planbestammelsekatalogen", defaults={
            "protocol": Source.Protocol.BOVERKET, "version": "",
            "url": f"{url.rsplit('/lovkarta', 1)[0]}/planbestammelsekatalogen/v1",
            "layer": "", "crs": "EPSG:3006", "holds": Source.Holds.CATALOGUE,
            "municipality": None, "preset": "boverket", "page_size": 100, "enabled": True})
        Source.objects.update_or_create(name="sundsvall-bakgrundskarta", defaults={
            "protocol": Source.Protocol.WMS, "version": "1.3.0", "url": url,
            "layer": settings.LOVKARTA_BACKGROUND_LAYERS, "crs": "EPSG:3857",
            "holds": Source.Holds.BACKGROUND, "municipality": sundsvall, "preset": "",
            "page_size": 1, "enabled": True})
        # The same map as WMTS tiles (MapCache over the WMS), as Lantmäteriet serves its
        # background maps: preferred once a sync has read its capabilities.
        Source.objects.update_or_create(name="sundsvall-bakgrundskarta-wmts", defaults={
            "protocol": Source.Protocol.WMTS, "version": "1.0.0",
            "url": f"{url.rsplit('/lovkarta', 1)[0]}/wmts", "layer": "bakgrund",
            "crs": "EPSG:3006", "holds": Source.Holds.BACKGROUND, "municipality": sundsvall,
            "preset": "", "page_size": 1, "enabled": True})
        for name, protocol, layer, holds, preset, enabled in DEMO_SOURCES:
            Source.objects.update_or_create(name=name, defaults={
                "protocol": protocol, "version": "2.0.0" if protocol == "wfs" else "",
                "url": url if protocol == "wfs" else f"{url}/ogcapi", "layer": layer,
                "crs": "EPSG:3006", "holds": holds, "municipality": sundsvall,
                "preset": preset, "page_size": 1000, "enabled": enabled})
        officers, _ = Group.objects.get_or_create(name=OFFICER_GROUP)
        gis, _ = Group.objects.get_or_create(name=GIS_GROUP)
        gis.permissions.set(Permission.objects.filter(content_type__app_label="geodata"))
        for username, first, last, group in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={
                "first_name": first, "last_name": last, "email": f"{username}@example.invalid"})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = group == GIS_GROUP
                user.save()
            if group:
                user.groups.add(officers if group == OFFICER_GROUP else gis)
        self.stdout.write(f"Demo municipality {sundsvall} ready; users "
                          f"{', '.join(u for u, *_ in DEMO_USERS)} (password {DEMO_PASSWORD})")
