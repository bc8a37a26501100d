"""Load the demo municipality: Sundsvall, its sources on the local OGC server, demo users."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from geodata.models import Municipality, Source
from permits.models import Committee, FeeRow, FeeTable, ReferralBody, StaffRole
from permits.selectors.applications import GIS_GROUP
from permits.workflow import Role

DEMO_PASSWORD = "lovkarta-demo"  # noqa: S105 (demo accounts on 127.0.0.1 only)
DEMO_USERS = [
    # user name, first name, last name, uses the admin, [(kommunkod, role)]
    ("sokande", "Sara", "Sökande", False, []),
    ("handlaggare", "Henrik", "Handläggare", False, [("2281", Role.OFFICER)]),
    ("handlaggare2", "Hanna", "Handläggare", False, [("2281", Role.OFFICER)]),
    ("beslutsfattare", "Bengt", "Beslutsfattare", False,
     [("2281", Role.DECISION_MAKER), ("2281", Role.OFFICER)]),
    ("kommunadmin", "Karin", "Kommunadmin", True, [("2281", Role.ADMIN)]),
    ("handlaggare-harnosand", "Hugo", "Handläggare", False,
     [("2280", Role.OFFICER), ("2280", Role.DECISION_MAKER)]),
    ("beslutsfattare-harnosand", "Berit", "Beslutsfattare", False,
     [("2280", Role.DECISION_MAKER)]),
    ("gis", "Gunilla", "GIS", True, []),
]
# The demo's fee tables (taxa), as factors of the price base amount, in the shape of SKR's
# model: a factor per case type and size band of gross floor area (m²).
FEE_FACTORS = {
    "BL": [(0, 50, "0.25"), (50, 200, "0.45"), (200, 500, "0.80"), (500, None, "1.50")],
    "RL": [(0, None, "0.10")], "MARK": [(0, None, "0.15")], "FÖRF": [(0, None, "0.20")],
    "ANM": [(0, None, "0.10")], "ATTANM": [(0, None, "0.08")], "TIDS": [(0, None, "0.30")],
    "DI": [(0, None, "0.15")],
}
ADMIN_GROUP = "kommunadministratorer"
# kommunkod: name, building committee, its case number prefix
MUNICIPALITIES = {"2281": ("Sundsvall", "Bygg- och miljönämnden", "BYGG"),
                  "2280": ("Härnösand", "Miljö- och byggnadsnämnden", "MBN")}


# The bodies each municipality refers cases to: name, postal address, e-mail.
REFERRAL_BODIES = {
    "2281": [("Miljökontoret", "Sundsvalls kommun\n851 85 Sundsvall",
              "miljokontoret@example.invalid"),
             ("Länsstyrelsen Västernorrland", "871 86 Härnösand",
              "vasternorrland@example.invalid"),
             ("Trafikverket", "781 89 Borlänge", "trafikverket@example.invalid"),
             ("Sundsvall Energi", "Box 823\n851 23 Sundsvall", "elnat@example.invalid")],
    "2280": [("Miljökontoret", "Härnösands kommun\n871 80 Härnösand",
              "miljo@example.invalid"),
             ("Länsstyrelsen Västernorrland", "871 86 Härnösand",
              "vasternorrland@example.invalid"),
             ("Trafikverket", "781 89 Borlänge", "trafikverket@example.invalid"),
             ("Härnösand Energi & Miljö", "Box 4\n871 21 Härnösand",
              "hemab@example.invalid")],
}


# name (after the municipality's prefix), protocol, layer, holds, preset, enabled
DEMO_SOURCES = [
    ("fastigheter", "wfs", "registerenhetsomradesytor", "parcels", "lantmateriet", True),
    ("fastigheter-ogcapi", "ogcapi-features", "registerenhetsomradesytor", "parcels",
     "lantmateriet", False),
    ("adresser", "ogcapi-features", "belagenhetsadress", "addresses", "lantmateriet", True),
    ("byggnader", "wfs", "byggnad", "buildings", "lantmateriet", True),
    ("detaljplaner", "ogcapi-features", "detaljplan", "plans", "boverket", True),
    ("planbestammelser", "wfs", "planbestammelse", "regulations", "boverket", True),
    ("aldre-planer", "wfs", "dp_aldre", "plans", "legacy", True),
    ("aldre-bestammelser", "wfs", "dp_aldre_bestammelser", "regulations", "legacy", True),
    # The shoreline the shore protection check measures from, as Lantmäteriet's hydrography.
    ("strandlinjer", "wfs", "strandlinje", "shoreline", "lantmateriet", True),
]
# The second municipality's GIS server has no digitised legacy plans.
HARNOSAND_SOURCES = [s for s in DEMO_SOURCES if s[4] != "legacy"]


def feature_sources(municipality: Municipality, prefix: str, url: str,
                    sources: list[tuple[str, str, str, str, str, bool]]) -> None:
    """Register a municipality's feature sources on its OGC server."""
    for name, protocol, layer, holds, preset, enabled in sources:
        Source.objects.update_or_create(name=f"{prefix}-{name}", defaults={
            "protocol": protocol, "version": "2.0.0" if protocol == "wfs" else "",
            "url": url if protocol == "wfs" else f"{url}/ogcapi", "layer": layer,
            "crs": "EPSG:3006", "holds": holds, "municipality": municipality,
            "preset": preset, "page_size": 1000, "enabled": enabled})


class Command(BaseCommand):
    help = "Create the demo municipality (Sundsvall 2281), its sources and demo users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ogc-url", default=settings.LOVKARTA_OGC_URL,
                            help="base URL of the local OGC server")
        parser.add_argument("--ogc-url-2280", default="",
                            help="base URL of Härnösand's OGC server (its sources are "
                                 "registered only if given)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for code, (name, committee, prefix) in MUNICIPALITIES.items():
            municipality, _ = Municipality.objects.update_or_create(
                kommunkod=code, defaults={"name": name})
            Committee.objects.update_or_create(municipality=municipality, defaults={
                "name": committee, "case_prefix": prefix})
            table, made = FeeTable.objects.get_or_create(
                municipality=municipality, valid_from=date(2024, 1, 1),
                defaults={"name": f"Plan- och bygglovstaxa {name}"})
            if made:
                FeeRow.objects.bulk_create(
                    FeeRow(table=table, case_type=case_type, area_from_m2=low,
                           area_to_m2=high, factor=Decimal(factor))
                    for case_type, bands in FEE_FACTORS.items() for low, high, factor in bands)
            for body, address, email in REFERRAL_BODIES[code]:
                ReferralBody.objects.get_or_create(municipality=municipality, name=body,
                                                   defaults={"address": address, "email": email})
        sundsvall = Municipality.objects.get(kommunkod="2281")
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
        feature_sources(sundsvall, "sundsvall", url, DEMO_SOURCES)
        if options["ogc_url_2280"]:
            harnosand, url_2280 = (Municipality.objects.get(kommunkod="2280"),
                                   options["ogc_url_2280"].rstrip("/"))
            feature_sources(harnosand, "harnosand", url_2280, HARNOSAND_SOURCES)
            # Its own background map, for its cases' maps and situation maps.
            Source.objects.update_or_create(name="harnosand-bakgrundskarta", defaults={
                "protocol": Source.Protocol.WMS, "version": "1.3.0", "url": url_2280,
                "layer": settings.LOVKARTA_BACKGROUND_LAYERS, "crs": "EPSG:3857",
                "holds": Source.Holds.BACKGROUND, "municipality": harnosand, "preset": "",
                "page_size": 1, "enabled": True})
        gis, _ = Group.objects.get_or_create(name=GIS_GROUP)
        gis.permissions.set(Permission.objects.filter(content_type__app_label="geodata"))
        admins, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
        admins.permissions.set(Permission.objects.filter(
            content_type__app_label="permits",
            content_type__model__in=["feetable", "feerow", "committee", "staffrole",
                                     "referralbody"]))
        for username, first, last, uses_admin, roles in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={
                "first_name": first, "last_name": last, "email": f"{username}@example.invalid"})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = uses_admin
                user.save()
            if uses_admin:
                user.groups.add(admins if any(r == Role.ADMIN for _c, r in roles) else gis)
            for code, role in roles:
                StaffRole.objects.get_or_create(
                    user=user, municipality=Municipality.objects.get(kommunkod=code), role=role)
        self.stdout.write(f"Demo municipality {sundsvall} ready; users "
                          f"{', '.join(u for u, *_ in DEMO_USERS)} (password {DEMO_PASSWORD})")
