"""API tokens: make one (shown once), find the user a presented token acts as, revoke."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone

from permits.models import ApiToken

PREFIX = "lk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Make a token for ``user``; return it and its secret (not stored, shown once)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name.strip()[:100] or "api",
                                    prefix=secret[:10], key_hash=_hash(secret))
    return token, secret


def token_user(secret: str) -> Any | None:
    """Return the active user a presented secret acts as, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(
        key_hash=_hash(secret), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: it no longer authenticates."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
