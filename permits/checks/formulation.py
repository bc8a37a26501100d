"""Read plan regulations by their formulation in Boverket's catalogue (pure).

The catalogue writes a regulation's text with its variables in brackets, e.g. "Största
byggnadsarea är [byggnadsarea:decimaltal] procent av fastighetsarean"; a plan fills them
in ("... är 25 procent av fastighetsarean") and also gives the value as ``varde``. From
the template we learn what a regulation limits (its kind) and in which unit; the value
comes from ``varde``, or from the plan's text read against the template.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

VARIABLE = re.compile(r"\[(?P<name>[^:\]]+):(?P<type>[^\]]+)\]")
NUMBER = r"(?P<value>-?\d+(?:[.,]\d+)?)"


class Kind(StrEnum):
    """What a regulation limits, as far as the measured checks are concerned."""

    NO_BUILDING = "no_building"
    COVERAGE = "coverage"
    HEIGHT = "height"
    OTHER = "other"


class Unit(StrEnum):
    M2 = "m2"
    PERCENT = "percent"
    M = "m"


# "Marken får inte förses med byggnad" (the former prickmark), and the wordings of older,
# municipally digitised plans (whose code the legacy preset writes as LEGACY_<CATEGORY>).
NO_BUILDING_TEXTS = ("marken får inte förses med byggnad", "mark som inte får bebyggas",
                     "marken får inte bebyggas")
NO_BUILDING_CODES = ("LEGACY_PRICK",)
COVERAGE_START = re.compile(r"^största (sammanlagda )?byggnadsarea\b")
HEIGHT_START = re.compile(r"^högsta (nockhöjd|byggnadshöjd|totalhöjd)\b")
# A height above the datum (a plushöjd) cannot be compared with a height above ground.
ABOVE_DATUM = re.compile(r"nollplan|\+\s*\d")


@dataclass(frozen=True)
class Limit:
    """What a regulation allows: its kind, the value and unit (None when unreadable).

    ``base`` says what a percentage is of ("fastighetsarean"); ``judge`` is set when the
    figure cannot be compared with what is measured (another base, a height above the
    datum, a limit per building), so that an officer reads the regulation.
    """

    kind: Kind
    value: float | None = None
    unit: Unit | None = None
    judge: bool = False


def _clean(text: str) -> str:
    return " ".join(text.lower().split())


def kind_of(bestammelsekod: str, template: str, text: str) -> Kind:
    """Return what a regulation limits, from its catalogue template or its own text."""
    if bestammelsekod in NO_BUILDING_CODES:
        return Kind.NO_BUILDING
    for wording in (_clean(template), _clean(text)):
        if not wording:
            continue
        if wording.startswith(NO_BUILDING_TEXTS):
            return Kind.NO_BUILDING
        if COVERAGE_START.match(wording):
            return Kind.COVERAGE
        if HEIGHT_START.match(wording):
            return Kind.HEIGHT
    return Kind.OTHER


def after_variable(template: str) -> str:
    """Return the template's words after its first variable (where the unit is written)."""
    match = VARIABLE.search(template)
    return _clean(template[match.end():]) if match else ""


def read_value(template: str, text: str) -> float | None:
    """Return the number a plan wrote in place of the template's first variable."""
    if not text:
        return None
    if not VARIABLE.search(template):  # no template: the plan's first number
        found = re.search(NUMBER, text)
        return float(found.group("value").replace(",", ".")) if found else None
    parts = VARIABLE.split(template)
    # split() yields text, name, type, text, ...: keep the text and put a number in place
    # of the first variable, any later one matches anything.
    pattern = re.escape(_clean(parts[0]))
    rest = parts[3::3]
    for i, piece in enumerate(rest):
        pattern += (r"\s*" + NUMBER + r"\s*" if i == 0 else r".*?") + re.escape(_clean(piece))
    match = re.fullmatch(pattern.replace(r"\ ", r"\s+"), _clean(text))
    return float(match.group("value").replace(",", ".")) if match else None


# The rules ask for a regulation's limit several times a footprint, and many footprints
# share one wording: read each once (the inputs are strings and a number, Limit frozen).
@functools.lru_cache(maxsize=8192)
def limit_of(bestammelsekod: str, template: str, text: str, varde: float | None) -> Limit:
    """Return what a regulation allows, read from its catalogue template and value."""
    kind = kind_of(bestammelsekod, template, text)
    if kind in (Kind.NO_BUILDING, Kind.OTHER):
        return Limit(kind)
    value = varde if varde is not None else read_value(template, text)
    # Without the catalogue's template, the plan's own text says the unit.
    words = after_variable(template) if template else _clean(text)
    if kind == Kind.COVERAGE:
        if "procent av fastighetsarean" in words:
            return Limit(kind, value, Unit.PERCENT, judge=value is None)
        per_building = re.search(r"per (huvud|komplement)?byggnad", words)
        if re.search(r"(m²|m2|kvadratmeter)", words) and not per_building:
            return Limit(kind, value, Unit.M2, judge=value is None)
        return Limit(kind, value, None, judge=True)
    above_datum = bool(ABOVE_DATUM.search(words))
    return Limit(kind, value, Unit.M, judge=value is None or above_datum or "meter" not in words)
