"""Load the demo municipality: Sundsvall, its sources on the local OGC server, demo users."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from geodata.models import Municipality, Source
from permits.selectors import GIS_GROUP, OFFICER_GROUP

DEMO_PASSWORD = "lovkarta-demo"  # noqa: S105 (demo accounts on 127.0.0.1 only)
DEMO_USERS = [
    # user name, first name, last name, group
    ("sokande", "Sara", "Sökande", None),
    ("handlaggare", "Henrik", "Handläggare", OFFICER_GROUP),
    ("gis", "Gunilla", "GIS", GIS_GROUP),
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
        Source.objects.update_or_create(name="sundsvall-fastigheter", defaults={
            "protocol": Source.Protocol.WFS, "version": "2.0.0", "url": url,
            "layer": "registerenhetsomradesytor", "crs": "EPSG:3006",
            "holds": Source.Holds.PARCELS, "municipality": sundsvall,
            "preset": "lantmateriet", "page_size": 1000, "enabled": True})
        Source.objects.update_or_create(name="sundsvall-fastigheter-ogcapi", defaults={
            "protocol": Source.Protocol.OGCAPI_FEATURES, "url": f"{url}/ogcapi",
            "layer": "registerenhetsomradesytor", "crs": "EPSG:3006",
            "holds": Source.Holds.PARCELS, "municipality": sundsvall,
            "preset": "lantmateriet", "page_size": 1000, "enabled": False})
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
