"""Sync sources into the cache, showing progress."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.errors import GeodataError
from geodata.models import Source
from geodata.sync import source_sync


class Command(BaseCommand):
    help = ("Fetch sources into the cache, and read background maps' capabilities "
            "(every enabled source by default).")
    # Runs from cron and Celery: the URLconf and views (maps, PDFs) that Django's system
    # checks import cost a second and are not this command's concern.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="source names")
        parser.add_argument("--bbox", help="minx,miny,maxx,maxy in the source CRS")
        parser.add_argument("--force", action="store_true",
                            help="try even a source whose circuit breaker is open")

    def handle(self, *args: Any, **options: Any) -> None:
        names = options["sources"]
        sources = Source.objects.filter(name__in=names) if names else Source.objects.filter(
            enabled=True)
        missing = set(names) - {s.name for s in sources}
        if missing:
            raise CommandError(f"no source named {', '.join(sorted(missing))}")
        bbox: tuple[float, float, float, float] | None = None
        if options["bbox"]:
            try:
                minx, miny, maxx, maxy = (float(v) for v in options["bbox"].split(","))
            except ValueError:
                raise CommandError("--bbox takes minx,miny,maxx,maxy") from None
            bbox = (minx, miny, maxx, maxy)
        failed = []
        for source in sources:
            started = time.monotonic()
            try:
                run = source_sync(source, bbox, progress=self._progress(source.name),
                                  force=options["force"])
            except GeodataError as exc:
                sys.stderr.write("\n")
                self.stderr.write(f"{source.name}: FAILED: {exc}")
                failed.append(source.name)
                continue
            sys.stderr.write("\n")
            took = time.monotonic() - started
            if source.holds == Source.Holds.BACKGROUND:
                info = source.service_info or {}
                self.stdout.write(
                    f"{source.name}: capabilities read in {took:.1f} s: "
                    f"{info.get('title') or source.layer} ({source.protocol.upper()}"
                    + (f", tile matrix sets {', '.join(info.get('sets', {}))}"
                       if info.get("sets") else "") + ")")
                continue
            # What was read beside what the server said it had: they agree, or the sync
            # has failed above.
            said = (f"the server counted {run.server_said}" if run.server_count is not None
                    else "the server's count unknown")
            self.stdout.write(
                f"{source.name}: {run.fetched} fetched ({said}), {run.added} added, "
                f"{run.changed} changed, {run.removed} removed, {run.rejected} rejected in "
                f"{took:.1f} s ({run.fetched / max(took, 1e-6):.0f} features/s)")
        if failed:
            raise CommandError(f"{len(failed)} source(s) failed: {', '.join(failed)}")

    @staticmethod
    def _progress(name: str) -> Any:
        def show(done: int, total: int | None) -> None:
            if total:
                width = 30
                filled = int(width * min(done, total) / total)
                bar = "#" * filled + "." * (width - filled)
                sys.stderr.write(f"\r{name}: [{bar}] {done}/{total}")
            else:
                sys.stderr.write(f"\r{name}: {done} features")
            sys.stderr.flush()
        return show
