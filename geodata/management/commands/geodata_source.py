"""Register, list and remove the sources Lovkarta syncs from."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from geodata.crs import parse_crs
from geodata.errors import CRSMismatch, UnsupportedSource
from geodata.models import Source
from geodata.municipalities import UnknownMunicipality, municipality_get_or_create
from geodata.presets import PRESET_NAMES, PRESETS
from geodata.sources.credentials import AUTH_KINDS, credentials_from_env
from geodata.sources.filters import FilterError, parse_filters


class Command(BaseCommand):
    help = "Manage data sources: add, list, remove."
    # Runs from cron and Celery: the URLconf and views (maps, PDFs) that Django's system
    # checks import cost a second and are not this command's concern.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register (or update) a source")
        add.add_argument("name")
        add.add_argument("--protocol", required=True, choices=Source.Protocol.values)
        add.add_argument("--url", required=True)
        add.add_argument("--layer", required=True, help="collection or feature type name")
        add.add_argument("--crs", default="EPSG:3006")
        add.add_argument("--holds", required=True, choices=Source.Holds.values)
        add.add_argument("--municipality",
                         help="kommunkod or name of any Swedish municipality, e.g. 2262 "
                              "or Timrå (added to this installation when first named)")
        add.add_argument("--preset", default="lantmateriet", choices=PRESET_NAMES)
        add.add_argument("--version", dest="protocol_version", default="")
        add.add_argument("--page-size", type=int, default=1000)
        add.add_argument("--auth", default="none", choices=AUTH_KINDS)
        add.add_argument("--credentials-env", default="",
                         help="prefix of the environment variables holding the credentials")
        add.add_argument("--schedule-minutes", type=int, default=None,
                         help="sync in the background every N minutes")
        add.add_argument("--filter", default="",
                         help="attribute filter: field=value pairs separated by ;")
        add.add_argument("--disabled", action="store_true")
        sub.add_parser("list", help="list the sources")
        remove = sub.add_parser("remove", help="remove a source and its cached features")
        remove.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _add(self, o: dict[str, Any]) -> None:
        try:
            parse_crs(o["crs"])
        except CRSMismatch as exc:
            raise CommandError(str(exc)) from exc
        if o["holds"] != Source.Holds.BACKGROUND and o["preset"] not in PRESETS.get(
                o["holds"], {}):
            raise CommandError(f"preset {o['preset']!r} does not fit a source of "
                               f"{o['holds']} (try: {', '.join(PRESETS[o['holds']])})")
        try:
            parse_filters(o["filter"])
        except FilterError as exc:
            raise CommandError(f"--filter: {exc}") from exc
        if o["auth"] != "none":
            try:
                credentials_from_env(o["name"], o["auth"], o["credentials_env"])
            except UnsupportedSource as exc:
                raise CommandError(str(exc)) from exc
        try:
            with transaction.atomic():  # a municipality named first is kept only with the source
                self._save(o)
        except UnknownMunicipality as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in
                                         exc.message_dict.items())) from exc

    def _save(self, o: dict[str, Any]) -> None:
        municipality = (municipality_get_or_create(o["municipality"]) if o["municipality"]
                        else None)
        source = Source.objects.filter(name=o["name"]).first() or Source(name=o["name"])
        for field, value in (("protocol", o["protocol"]), ("url", o["url"]),
                             ("layer", o["layer"]), ("crs", o["crs"]), ("holds", o["holds"]),
                             ("municipality", municipality), ("preset", o["preset"]),
                             ("version", o["protocol_version"]), ("page_size", o["page_size"]),
                             ("auth", o["auth"]), ("credentials_env", o["credentials_env"]),
                             ("schedule_minutes", o["schedule_minutes"]),
                             ("filter", o["filter"]),
                             ("enabled", not o["disabled"])):
            setattr(source, field, value)
        source.full_clean()
        created = source.pk is None
        source.save()
        self.stdout.write(f"{'Added' if created else 'Updated'} source {source.name}")

    def _list(self, o: dict[str, Any]) -> None:
        for s in Source.objects.select_related("municipality"):
            self.stdout.write(f"{s.name}\t{s.protocol} {s.version}\t{s.holds}\t{s.url}\t"
                              f"{s.layer}\t{s.crs}\t{s.preset}\t{s.auth}\t"
                              f"{s.municipality or '-'}\t{'on' if s.enabled else 'off'}")

    def _remove(self, o: dict[str, Any]) -> None:
        deleted, _ = Source.objects.filter(name=o["name"]).delete()
        if not deleted:
            raise CommandError(f"no source named {o['name']}")
        self.stdout.write(f"Removed source {o['name']}")
