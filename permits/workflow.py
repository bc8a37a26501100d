"""The states of an application and the transitions allowed between them, as data."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    INCOMPLETE = "incomplete", _("awaiting completion")
    COMPLETE = "complete", _("complete, under review")
    DECIDED = "decided", _("decided")
    WITHDRAWN = "withdrawn", _("withdrawn")


TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.INCOMPLETE, Status.COMPLETE, Status.WITHDRAWN}),
    Status.INCOMPLETE: frozenset({Status.COMPLETE, Status.WITHDRAWN}),
    Status.COMPLETE: frozenset({Status.DECIDED, Status.WITHDRAWN}),
    Status.DECIDED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Return True if an application may go from ``current`` to ``target``."""
    return target in TRANSITIONS.get(current, frozenset())
