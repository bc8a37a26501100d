"""Show each source: last sync, age of its data, counts and health."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Max
from django.utils import timezone

from geodata.kinds import SYNCED_KINDS
from geodata.models import CatalogueEntry, Source, SyncRun


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


class Command(BaseCommand):
    help = "Show every source: last good sync, how old its data is, counts and health."
    # Runs from cron and Celery: the URLconf and views (maps, PDFs) that Django's system
    # checks import cost a second and are not this command's concern.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        header = f"{'source':32} {'holds':12} {'features':>9} {'last good sync':17} " \
                 f"{'age':>9}  health"
        self.stdout.write(header)
        for source in Source.objects.order_by("name"):
            good = (SyncRun.objects.filter(source=source, outcome=SyncRun.Outcome.SUCCEEDED)
                    .aggregate(at=Max("finished_at"))["at"])
            last = SyncRun.objects.filter(source=source).first()
            kind = SYNCED_KINDS.get(source.holds)
            model = kind.model if kind else (
                CatalogueEntry if source.holds == Source.Holds.CATALOGUE else None)
            count = model.objects.filter(source=source).count() if model else 0
            if not source.enabled:
                health = "disabled"
            elif source.circuit_open_until and source.circuit_open_until > now:
                health = (f"circuit open until "
                          f"{timezone.localtime(source.circuit_open_until):%H:%M} "
                          f"({source.consecutive_failures} failures)")
            elif last and last.outcome == SyncRun.Outcome.FAILED:
                health = f"last sync failed: {last.error.splitlines()[0][:80]}"
            elif last is None:
                health = "never synced"
            else:
                health = "ok"
            when = f"{timezone.localtime(good):%Y-%m-%d %H:%M}" if good else "-"
            age = _age((now - good).total_seconds() if good else None)
            self.stdout.write(f"{source.name:32} {source.holds:12} {count:9d} {when:17} "
                              f"{age:>9}  {health}")
