"""Log-in protection: django-axes with a limit per account and another per address.

Axes counts failed log-ins in the database (``AccessAttempt``, shown and cleared in the
admin) and refuses a locked-out client before any password is checked. Axes has one
failure limit; a municipality wants two: an account is locked after a few failures (a
guessed password), an address only after many more (many staff share the town hall's
address, and one typo each must not lock them all out). The handler below reports the
failures so that either limit reached means "locked".

What axes records is kept for LOVKARTA_LOGIN_LOG_DAYS: :func:`login_logs_prune` removes
older log-ins, failures and attempts (nightly on Celery beat, or ``manage.py
lovkarta_login_logs`` from cron).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def _failures(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


class LoginProtectionHandler(AxesDatabaseHandler):
    """Lock an account at LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT, an address at ..._PER_ADDRESS.

    Axes compares what ``get_failures`` returns with ``AXES_FAILURE_LIMIT`` (the account
    limit); an address past its own limit is reported at the account limit.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None
                     ) -> int:
        recent = AccessAttempt.objects.filter(
            attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        # No user name (an e-ID log-in through OIDC): only the address counts, or every
        # failed e-ID log-in anywhere would add up against one empty "account".
        per_account = _failures(recent.filter(username=username)) if username else 0
        address = getattr(request, "axes_ip_address", None)
        per_address = _failures(recent.filter(ip_address=address))
        if per_address >= settings.LOVKARTA_LOGIN_FAILURES_PER_ADDRESS:
            return max(per_account, settings.LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT)
        return per_account


def client_address(request: HttpRequest) -> str | None:
    """Return the client's address: REMOTE_ADDR, or what the nearest trusted proxy saw.

    With LOVKARTA_PROXY_COUNT proxies in front (each appending the address it was reached
    from to X-Forwarded-For), the client is that many entries from the right; entries
    further left were written by the client and prove nothing.
    """
    proxies = settings.LOVKARTA_PROXY_COUNT
    forwarded = [part.strip() for part in
                 request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """Answer a locked-out log-in with the log-in page and one message for everyone.

    The same page whether the account exists or not, and whether the account or the
    address is locked: it tells an attacker nothing.
    """
    form = AuthenticationForm(request, initial={
        "username": get_client_username(request, credentials) or ""})
    return render(request, "registration/login.html", {
        "form": form, "locked_out": True,
        "lockout_minutes": settings.LOVKARTA_LOGIN_COOLOFF_MINUTES,
        "next": request.POST.get("next", request.GET.get("next", "")),
    }, status=settings.AXES_HTTP_RESPONSE_CODE)


@dataclass(frozen=True)
class Pruned:
    """How many records of each kind a prune removed, and the day before which it did."""

    before: datetime
    logins: int
    failures: int
    attempts: int


def login_logs_prune(*, days: int | None = None, now: datetime | None = None) -> Pruned:
    """Remove log-ins, failed log-ins and attempts older than ``days`` (default
    LOVKARTA_LOGIN_LOG_DAYS).

    An attempt still inside its cool-off is kept whatever ``days`` says: removing it
    would unlock the account or address before its time.
    """
    days = settings.LOVKARTA_LOGIN_LOG_DAYS if days is None else days
    if days < 1:
        raise ValueError(f"keep log-in records for at least one day, not {days}")
    now = now or timezone.now()
    before = now - timedelta(days=days)
    locked_from = now - settings.AXES_COOLOFF_TIME
    return Pruned(
        before=before,
        logins=_deleted(AccessLog.objects.filter(attempt_time__lt=before)),
        failures=_deleted(AccessFailureLog.objects.filter(attempt_time__lt=before)),
        attempts=_deleted(AccessAttempt.objects.filter(
            attempt_time__lt=min(before, locked_from))))


def _deleted(records: QuerySet[Any]) -> int:
    """Delete; return how many of the query's own model went (not what cascaded)."""
    return records.delete()[1].get(records.model._meta.label, 0)
