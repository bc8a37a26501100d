"""The services' notion of now: the real time, or a day in the past for the demo loader.

Casework records business dates (received, complete, decided) and audit times from the
same clock, so that a demo built "as of" earlier days reads like the history it shows.
Only the demo loader and tests move it; nothing a request does can.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime, time

from django.utils import timezone

_AS_OF: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("as_of", default=None)


def now() -> datetime:
    """The time the services act at."""
    return _AS_OF.get() or timezone.now()


def today() -> date:
    """The day the services act on, in the local time zone."""
    return timezone.localdate(now())


@contextlib.contextmanager
def as_of(day: date, at: time = time(10, 0)) -> Iterator[None]:
    """Act as if it were ``day`` (for building the demo's history)."""
    token = _AS_OF.set(timezone.make_aware(datetime.combine(day, at)))
    try:
        yield
    finally:
        _AS_OF.reset(token)
