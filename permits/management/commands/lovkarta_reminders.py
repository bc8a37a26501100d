"""Send the reminders due on hearings and referrals: ``lovkarta_reminders [--date DAY]``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from permits.services import clock as service_clock
from permits.services.hearings import reminder_send, reminders_due


class Command(BaseCommand):
    help = ("E-mail the reminders due on hearings and referrals (some days before the reply "
            "day, and after it passed unanswered) and record them on the cases.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", default="", help="act as on this day (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            today = date.fromisoformat(options["date"]) if options["date"] else (
                service_clock.today())
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        due = reminders_due(today)
        sent = sum(reminder_send(reminder=r, today=today) for r in due)
        self.stdout.write(f"{sent} of {len(due)} reminders sent")
