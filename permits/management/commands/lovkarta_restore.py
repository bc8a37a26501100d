"""Restore a backup made by ``lovkarta_backup``: ``lovkarta_restore FILE [--force]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from permits.management.archive import check_restored, restore


class Command(BaseCommand):
    help = ("Restore the database and the media files from a lovkarta_backup archive, "
            "after checking every checksum; refuses a database that holds tables unless "
            "--force. Stop the web app and the workers first.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the archive to restore")
        parser.add_argument("--force", action="store_true",
                            help="replace what the database holds")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest, written = restore(Path(options["file"]), force=options["force"])
        if problems := check_restored(manifest):
            raise CommandError("The restored data differ from the backup: "
                               + "; ".join(problems[:10]))
        self.stdout.write(
            f"Restored {manifest['engine']} backup of {manifest['created']}: "
            f"{sum(manifest['rows'].values())} rows in {len(manifest['rows'])} tables and "
            f"{written} media files; all checksums and row counts match")
