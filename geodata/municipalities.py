"""Sweden's 290 municipalities (kommunkod, name, county), shipped as data.

The list is Statistics Sweden's division into municipalities and counties (open data; in
force since Knivsta was formed in 2003). An installation serves a few of them: a
``Municipality`` row is made from this list the first time a source or a user names one,
so any real code works without the admin, and a wrong one is refused with the nearest.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from geodata.errors import GeodataError

if TYPE_CHECKING:
    from geodata.models import Municipality

DATA = Path(__file__).resolve().parent / "data" / "municipalities.csv"


class UnknownMunicipality(GeodataError):
    """No Swedish municipality has that code or name; ``suggestions`` has the nearest."""

    def __init__(self, given: str, suggestions: list[Entry]) -> None:
        near = ", ".join(f"{e.kommunkod} {e.name}" for e in suggestions)
        super().__init__(f"no Swedish municipality has the code or name {given!r}"
                         + (f"; the nearest: {near}" if near else ""))
        self.given, self.suggestions = given, suggestions


@dataclass(frozen=True)
class Entry:
    """One municipality of the national list."""

    kommunkod: str
    name: str
    lanskod: str
    county: str


@cache
def national_list() -> dict[str, Entry]:
    """Return the 290 municipalities by kommunkod, in code order."""
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = [Entry(r["kommunkod"], r["name"], r["lanskod"], r["county"])
                for r in csv.DictReader(handle)]
    return {entry.kommunkod: entry for entry in rows}


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().removesuffix(" kommun").strip()


def find(given: str) -> Entry:
    """Return the municipality with this kommunkod (``2262``; ``0114`` also as ``114``) or name
    (``Timrå``, ``timrå kommun``); raise UnknownMunicipality with the nearest ones."""
    entries = national_list()
    text = unicodedata.normalize("NFKC", given).strip()
    if text.isdigit() and text.isascii():
        code = text.zfill(4)
        if code in entries:
            return entries[code]
        number = int(code)
        nearest = sorted(entries.values(), key=lambda e: (abs(int(e.kommunkod) - number),
                                                          e.kommunkod))
        raise UnknownMunicipality(given, nearest[:3])
    by_name = {_folded(e.name): e for e in entries.values()}
    wanted = _folded(text)
    if wanted in by_name:
        return by_name[wanted]
    close = difflib.get_close_matches(wanted, list(by_name), n=3, cutoff=0.6)
    raise UnknownMunicipality(given, [by_name[name] for name in close])


def validate_kommunkod(value: str) -> None:
    """Refuse a code that is no Swedish municipality's (a model field validator)."""
    from django.core.exceptions import ValidationError

    if value not in national_list():
        try:
            find(value)
        except UnknownMunicipality as exc:
            raise ValidationError(str(exc), code="unknown_municipality") from exc
        raise ValidationError(f"write the code with four digits, e.g. {find(value).kommunkod}",
                              code="kommunkod_form")


def municipality_get_or_create(given: str) -> Municipality:
    """Return the installation's municipality for a code or name, made from the national
    list the first time it is named; raise UnknownMunicipality for a wrong one."""
    from geodata.models import Municipality

    entry = find(given)
    municipality, _created = Municipality.objects.get_or_create(
        kommunkod=entry.kommunkod, defaults={"name": entry.name})
    return municipality
