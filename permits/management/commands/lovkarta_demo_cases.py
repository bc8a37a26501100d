"""Give the demo its case history: cases in every state, in every municipality with staff."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from permits.demo_cases import demo_cases_load


class Command(BaseCommand):
    help = ("Make the demo's cases (every state, some decided late, some overdue) in each "
            "municipality that has officers, decision-makers and synced parcels but no cases.")

    def handle(self, *args: Any, **options: Any) -> None:
        own = User.objects.filter(username="sokande").first()
        if own is None:
            raise CommandError("Load the demo first: python manage.py lovkarta_demo")
        verbose = options["verbosity"] > 1
        made = demo_cases_load(own=own, progress=self.stdout.write if verbose else
                               lambda _message: None)
        if made:
            self.stdout.write("Demo cases: " + ", ".join(
                f"{count} in {code}" for code, count in made.items()))
        else:
            self.stdout.write("Demo cases: already there")
