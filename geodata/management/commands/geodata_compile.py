"""Compile FlatGeobuf's export kernel ahead of time (``make`` runs this)."""

from __future__ import annotations

import time
import warnings
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from geodata.exports import fgbcopy


class Command(BaseCommand):
    help = ("Compile the kernel that encodes FlatGeobuf exports from PostGIS into a C "
            "extension beside its source (numba's pycc; a C compiler and Python's headers "
            "are needed), unless it is built from the same source already. Without it an "
            "export compiles the kernel with numba when it first runs (some 0.6 s and "
            "115 MB more an export).")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="Build it even where it is built already.")

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        name = fgbcopy.ahead_name()
        if fgbcopy.built() and not force:
            self.stdout.write(f"FlatGeobuf's kernel {name} is built.")
            return
        started = time.monotonic()
        try:
            with warnings.catch_warnings():
                # pycc is pending deprecation in numba, with no replacement yet
                warnings.simplefilter("ignore")
                from geodata.exports import fgbkernel

                path = fgbkernel.build()
        except Exception as error:  # noqa: BLE001 (named: the compiler's or numba's)
            raise CommandError(f"FlatGeobuf's kernel could not be compiled: {error}") from error
        if not fgbcopy.built():
            raise CommandError(f"{path} was built but cannot be imported")
        self.stdout.write(f"FlatGeobuf's kernel compiled into {path.name} in "
                          f"{time.monotonic() - started:.0f} s.")
