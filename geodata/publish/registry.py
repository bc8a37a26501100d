"""The registry of published collections: what each one shows and where it reads it.

A collection names a queryset (a callable, so that it is built per request), the fields
it exposes under their published names, its feature id and its geometry. Apps register
their collections once, at start-up (``AppConfig.ready``); registering an id again
replaces the earlier one, so a second ``ready`` does no harm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise

from geodata.publish.errors import NotFound

# JSON Schema types of published fields (queryables), and the CQL2 literals they take.
STRING, INTEGER, NUMBER, DATE, UUID = "string", "integer", "number", "date", "uuid"


@dataclass(frozen=True)
class Field:
    """A published property: its name, where the queryset has it, and its type."""

    name: str
    lookup: str = ""  # the queryset's lookup path or annotation; the name if empty
    type: str = STRING  # noqa: A003 (JSON Schema's word)
    title: str | Promise = ""

    @property
    def path(self) -> str:
        return self.lookup or self.name


@dataclass(frozen=True)
class Collection:
    """A published collection of features."""

    id: str  # noqa: A003 (OGC API's word)
    title: str | Promise
    description: str | Promise
    queryset: Callable[[], QuerySet[Any]]
    fields: tuple[Field, ...]
    id_field: Field
    geometry: str = "geom"  # a geometry field in the storage CRS, or an annotation
    geometry_type: str = "MultiPolygon"
    # True when ``geometry`` is a column with a spatial index of its own (SpatiaLite's
    # R*Tree is used only when asked for by name; PostGIS's GiST always).
    indexed: bool = True
    datetime_field: Field | None = None
    keywords: tuple[str, ...] = ()
    license: str = ""  # noqa: A003 (a link to the licence, if any)
    order: int = 100  # collections are listed by order, then id

    def field(self, name: str) -> Field | None:
        """Return the published field of that name, the id's field included."""
        for f in (self.id_field, *self.fields):
            if f.name == name:
                return f
        return None

_REGISTRY: dict[str, Collection] = {}


def register(collection: Collection) -> None:
    """Publish a collection (replacing one registered under the same id)."""
    _REGISTRY[collection.id] = collection


def unregister(collection_id: str) -> None:
    """Withdraw a collection (tests; an app switched off)."""
    _REGISTRY.pop(collection_id, None)


def _builtins() -> None:
    # The cache's own layers register when first needed, not at import: an app that
    # registers in its ready() may import this module before the cache's models load.
    from geodata.publish import cache  # noqa: F401  (registers on import)


def all_collections() -> list[Collection]:
    """Return every published collection, in the order they are listed."""
    _builtins()
    return sorted(_REGISTRY.values(), key=lambda c: (c.order, c.id))


def get(collection_id: str) -> Collection:
    """Return the collection of that id; NotFound (404) if there is none."""
    _builtins()
    try:
        return _REGISTRY[collection_id]
    except KeyError:
        raise NotFound(f"no collection {collection_id!r}") from None
