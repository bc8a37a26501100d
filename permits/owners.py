"""The seam to the property register (Fastighetsregistret): who owns a property.

Owner names and addresses are register *text*, which needs a legal basis and an agreement
with Lantmäteriet (and credentials). Until a municipality has them, the default register
knows no owners: hearing letters go "to the owner of" the property, at the addresses on it.
A real adapter implements :class:`OwnerRegister` and is named by the setting
``LOVKARTA_OWNER_REGISTER`` (a dotted path to a class taking no arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Owner:
    """An owner (lagfaren ägare or tomträttshavare) and the postal address to write to."""

    name: str
    address_lines: tuple[str, ...] = field(default_factory=tuple)
    share: str = ""  # e.g. "1/2"


@runtime_checkable
class OwnerRegister(Protocol):
    """Where owners come from."""

    def owners_of(self, designation: str) -> list[Owner]:
        """Return the owners of a property (by its designation), none if unknown."""
        ...


class NoOwnerRegister:
    """The default: no owner data (no legal basis or agreement configured)."""

    def owners_of(self, designation: str) -> list[Owner]:
        return []


@cache
def _register(path: str) -> OwnerRegister:
    if not path:
        return NoOwnerRegister()
    try:
        register = import_string(path)()
    except ImportError as exc:
        raise ImproperlyConfigured(f"LOVKARTA_OWNER_REGISTER: cannot import {path}") from exc
    if not isinstance(register, OwnerRegister):
        raise ImproperlyConfigured(f"LOVKARTA_OWNER_REGISTER: {path} has no owners_of()")
    return register


def owner_register() -> OwnerRegister:
    """Return the configured owner register (the empty one by default)."""
    return _register(getattr(settings, "LOVKARTA_OWNER_REGISTER", "") or "")
