"""Template filters of casework: events in words, days left against the deadline."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from permits import history

register = template.Library()


@register.filter
def event_label(kind: str) -> str:
    """What an event of a kind is called."""
    return history.label(kind)


@register.filter
def days_left(deadline: date | None, today: date) -> str:
    """Days left to a deadline, or how many days it is overdue."""
    if deadline is None:
        return "–"
    days = (deadline - today).days
    if days < 0:
        return ngettext("%(n)d day overdue", "%(n)d days overdue", -days) % {"n": -days}
    if days == 0:
        return _("today")
    return ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}


@register.filter
def overdue(deadline: date | None, today: date) -> bool:
    return deadline is not None and deadline < today


@register.filter
def get_item(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key, "")
