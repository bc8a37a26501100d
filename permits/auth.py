"""Log-in with an e-ID through an OIDC broker (settings-driven; see config/settings.py)."""

from __future__ import annotations

from typing import Any

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class EIDBackend(OIDCAuthenticationBackend):
    """Find or create the applicant by the provider's stable subject, not by e-mail.

    Swedish e-ID brokers give a subject (often derived from the personal identity
    number); e-mail may be missing or change, so it does not identify the person.
    """

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=f"eid:{claims.get('sub', '')}")

    def create_user(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.create_user(
            username=f"eid:{claims['sub']}", email=claims.get("email", ""),
            first_name=claims.get("given_name", ""), last_name=claims.get("family_name", ""))

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        user.first_name = claims.get("given_name", user.first_name)
        user.last_name = claims.get("family_name", user.last_name)
        user.email = claims.get("email", user.email)
        user.save()
        return user
