"""Make, list or revoke API tokens: ``lovkarta_token create --user handlaggare --name X``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from permits.models import ApiToken
from permits.selectors.casework import is_staff_member
from permits.services.tokens import token_create, token_revoke


class Command(BaseCommand):
    help = "Make (the token is shown once), list or revoke API tokens of the cases API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("--user", help="the username the token acts as")
        parser.add_argument("--name", default="api", help="what uses the token")
        parser.add_argument("--prefix", help="the token to revoke, by its prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for token in ApiToken.objects.select_related("user").order_by("created_at"):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                self.stdout.write(f"{token.prefix}…  {token.user.get_username():20} "
                                  f"{token.name:30} {state}")
            return
        if action == "revoke":
            tokens = ApiToken.objects.filter(prefix=options["prefix"] or "",
                                             revoked_at__isnull=True)
            found = list(tokens)
            if not found:
                raise CommandError(f"no active token starts with {options['prefix']!r}")
            for token in found:
                token_revoke(token=token)
            self.stdout.write(f"revoked {len(found)} token(s)")
            return
        user = get_user_model().objects.filter(username=options["user"] or "").first()
        if user is None:
            raise CommandError(f"there is no user {options['user']!r}")
        if not is_staff_member(user):
            raise CommandError(f"{user.get_username()} holds no role in any municipality; "
                               "the cases API is for staff")
        _token, secret = token_create(user=user, name=options["name"])
        self.stdout.write(secret)
