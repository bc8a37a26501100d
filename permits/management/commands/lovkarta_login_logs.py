"""Remove old log-in records: ``lovkarta_login_logs [--days N]`` (for cron; beat runs it
nightly when Celery is used)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.login_protection import login_logs_prune


class Command(BaseCommand):
    help = ("Remove log-ins, failed log-ins and log-in attempts older than "
            "LOVKARTA_LOGIN_LOG_DAYS days (attempts still in their cool-off stay).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="keep this many days instead of LOVKARTA_LOGIN_LOG_DAYS "
                                 f"({settings.LOVKARTA_LOGIN_LOG_DAYS})")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            pruned = login_logs_prune(days=options["days"])
        except ValueError as exc:
            raise CommandError(f"--days: {exc}") from exc
        self.stdout.write(f"Removed {pruned.logins} log-ins, {pruned.failures} failed log-ins "
                          f"and {pruned.attempts} attempts from before "
                          f"{pruned.before:%Y-%m-%d %H:%M}")
