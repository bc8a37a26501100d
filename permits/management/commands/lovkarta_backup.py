"""Back up the database and the media files into one archive: ``lovkarta_backup [FILE]``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from permits.management.archive import backup


class Command(BaseCommand):
    help = ("Write one tar of the database (SpatiaLite snapshot or pg_dump) and MEDIA_ROOT, "
            "with a manifest of checksums and row counts.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the archive to write (default: "
                            "var/backups/lovkarta-<time>.tar)")

    def handle(self, *args: Any, **options: Any) -> None:
        default = (Path(settings.VAR_DIR) / "backups"
                   / f"lovkarta-{datetime.now():%Y%m%dT%H%M%S}.tar")
        destination = Path(options["file"]) if options["file"] else default
        manifest = backup(destination.resolve())
        files = sum(1 for name in manifest["members"] if name.startswith("media/"))
        for name in manifest["missing_files"]:
            self.stderr.write(f"Referred to by the database but not under MEDIA_ROOT: {name}")
        self.stdout.write(
            f"Backed up {manifest['engine']}: {sum(manifest['rows'].values())} rows in "
            f"{len(manifest['rows'])} tables and {files} media files to {destination}")
