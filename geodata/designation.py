"""Property designations (fastighetsbeteckningar): formatting and tolerant parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
_AREA_SUFFIX = re.compile(r"\s*>\s*\d+\s*$")
_COLON = re.compile(r"\s*:\s*")
_NUMBER_PART = re.compile(r"^(?P<name>.+?)\s+(?:(?P<block>\d+|S|GA)\s*:\s*)?(?P<enhet>\d+)$")


class DesignationError(ValueError):
    """Text that cannot be read as a property designation."""


@dataclass(frozen=True)
class Designation:
    """A property designation; ``name`` is the trakt or kvarter, maybe with register area."""

    name: str
    block: str
    enhet: str

    def __str__(self) -> str:
        tail = f"{self.block}:{self.enhet}" if self.block else self.enhet
        return f"{self.name} {tail}"


def normalise(text: str) -> str:
    """Return the canonical spelling: upper case, single spaces, no ``>N`` area suffix."""
    text = _AREA_SUFFIX.sub("", text.strip())
    text = _COLON.sub(":", text)
    return _SPACES.sub(" ", text).upper()


def beteckning(register_area: str, trakt: str, block: str, enhet: str) -> str:
    """Return the full designation, e.g. ``SUNDSVALL TOMMING 2:6`` or ``SUNDSVALL ABBOTEN 1``."""
    tail = f"{block}:{enhet}" if block else str(enhet)
    return normalise(f"{register_area} {trakt} {tail}")


def parse(text: str) -> Designation:
    """Read a typed designation ("tomming 2 :6", "Abboten 1>2"); raise DesignationError."""
    match = _NUMBER_PART.match(normalise(text))
    if not match:
        raise DesignationError(f"{text!r} is not a property designation (e.g. TOMMING 2:6)")
    return Designation(match["name"], match["block"] or "", match["enhet"])
