"""What other apps want done after a sync changed a layer, without geodata knowing them.

``permits`` registers its re-check of open cases here (geodata never imports permits).
A hook that fails is logged and never fails the sync: the new data is committed either
way, and the hook's own work can be done again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from geodata.models import Source, SyncRun

log = logging.getLogger(__name__)
AfterSync = Callable[[Source, SyncRun], None]
_AFTER_SYNC: list[AfterSync] = []


def after_sync(hook: AfterSync) -> AfterSync:
    """Register ``hook(source, run)`` to run after a sync that changed its layer."""
    if hook not in _AFTER_SYNC:
        _AFTER_SYNC.append(hook)
    return hook


def sync_changed(source: Source, run: SyncRun) -> None:
    """Run the registered hooks for a successful sync that added, changed or removed."""
    if not (run.added or run.changed or run.removed):
        return
    for hook in list(_AFTER_SYNC):
        try:
            hook(source, run)
        except Exception:  # noqa: BLE001 (a hook's failure must not undo the sync)
            log.exception("after-sync hook %s failed for %s", getattr(hook, "__name__", hook),
                          source.name)
