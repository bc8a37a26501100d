"""What the pages' cached maps are made of, as cache keys: a map (or a summary of the cache's
data at a place) is kept for as long as these are unchanged."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Count, Max

from geodata.models import Source, SyncRun


def sync_state() -> list[tuple[str, Any]]:
    """The good syncs' count, last end and last id: it changes whenever a good sync of any
    source ends, so it stands for the cache's data."""
    runs = SyncRun.objects.filter(outcome=SyncRun.Outcome.SUCCEEDED).aggregate(
        n=Count("pk"), last=Max("finished_at"), top=Max("pk"))
    return sorted(runs.items())


def background_sources() -> list[tuple[Any, ...]]:
    """The background map's sources, as a map draws them."""
    return list(Source.objects.filter(holds=Source.Holds.BACKGROUND).order_by("pk")
                .values_list("pk", "enabled", "protocol", "url", "layer", "municipality_id",
                             "service_info"))


def digest(*parts: object) -> str:
    """A cache key's digest of the parts (their repr)."""
    return hashlib.sha256(repr(parts).encode(), usedforsecurity=False).hexdigest()
