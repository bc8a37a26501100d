"""The layers exports offer: the cache tables, which of their columns leave, and as what."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext as _

from geodata.exports.errors import UnknownLayer
from geodata.kinds import KINDS

# Bookkeeping of the cache, not data of the layer: its row id, which source and sync wrote
# it, and a folded copy of a column kept for searching.
INTERNAL_FIELDS = frozenset({"id", "source", "synced_at", "content_hash", "search_text", "geom"})

# What the cache's own municipality column is called, where a layer has one; the others
# (buildings, regulations) belong to a municipality through their source.
MUNICIPALITY_COLUMNS = {"parcels": "kommunkod", "addresses": "kommunkod", "plans": "kommun"}

# A geometry's box (minx, miny, maxx, maxy) after it, for a writer that asks for them (a
# FlatGeobuf's index); not written.
BOUNDS_COLUMNS = ("bbox_minx", "bbox_miny", "bbox_maxx", "bbox_maxy")

_ARROW_TYPES: dict[str, pa.DataType] = {
    "UUIDField": pa.string(), "CharField": pa.string(), "TextField": pa.string(),
    "SlugField": pa.string(), "IntegerField": pa.int32(), "PositiveIntegerField": pa.int32(),
    "SmallIntegerField": pa.int16(), "PositiveSmallIntegerField": pa.int16(),
    "BigIntegerField": pa.int64(), "FloatField": pa.float64(), "DateField": pa.date32(),
}


def _uuid_sql(column: str) -> dict[str, str]:
    # PostgreSQL has a uuid type; Django keeps a UUID in SQLite as 32 hex digits. Both
    # leave as the usual dashed text, made by the database rather than row by row here.
    parts = "||'-'||".join(f"substr(t.{column},{start},{length})" for start, length in (
        (1, 8), (9, 4), (13, 4), (17, 4), (21, 12)))
    # A binary COPY takes the 16 bytes, which pgcopy writes as text (the server's text
    # output and the text's decoding cost an export of 1,000,000 parcels 0.4 s).
    return {"postgresql": f"t.{column}::text", "sqlite": f"lower({parts})",
            "postgresql-copy": f"t.{column}"}


@dataclass(frozen=True)
class Column:
    """One attribute of an exported layer: its name, Arrow type and SQL per backend."""

    name: str
    arrow_type: pa.DataType
    sql: dict[str, str]

    def arrow(self, values: Sequence[Any]) -> pa.Array:
        """Return the column's values of one chunk as an Arrow array."""
        if pa.types.is_date32(self.arrow_type) and any(isinstance(v, str) for v in values):
            # A backend that hands dates over as ISO text
            return pa.array(values, pa.string()).cast(pa.date32())
        return pa.array(values, self.arrow_type)


# The rows of a layer its app builds (not a table's): each the values of its columns, in
# their order, and its geometry as WKB in the storage CRS (EPSG:3006).
Rows = Callable[[], Iterable[tuple[tuple[Any, ...], bytes]]]


@dataclass(frozen=True)
class Layer:
    """An exportable layer: a table and what of it an export carries.

    The cache's layers are made here; another app registers its own (``register``), e.g.
    permits' cases, whose municipality is an SQL expression and whose rows are limited
    (``where``: conditions always applied, written against the table aliased ``t``).
    """

    name: str
    table: str
    columns: tuple[Column, ...]
    geometry_type: str  # as OGR names it: MultiPolygon or Point
    municipality_column: str | None
    geometry_column: str = "geom"
    municipality_sql: str | None = None  # an expression on ``t`` giving the kommunkod
    # Conditions always applied, each SQL on ``t`` (written by the layer's own code) with
    # its parameters (the values, never put into the SQL).
    where: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    # Rows another app builds (from its services), instead of a table's: the municipality
    # and the layer's own filters are the app's to apply, a bbox or polygon the exporter's.
    rows: Rows | None = None

    def schema(self, bounds: bool = False) -> pa.Schema:
        """Return the Arrow schema of the layer's chunks (the geometry as WKB after the
        columns; with ``bounds``, then its box: BOUNDS_COLUMNS, NaN for no geometry)."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns]
                         + [pa.field("geom", pa.binary())]
                         + [pa.field(name, pa.float64()) for name in
                            (BOUNDS_COLUMNS if bounds else ())])


def _column(field: Any) -> Column:
    kind = field.get_internal_type()
    name = str(field.column)
    if kind == "UUIDField":
        return Column(name, pa.string(), _uuid_sql(name))
    return Column(name, _ARROW_TYPES[kind], {"postgresql": f"t.{name}", "sqlite": f"t.{name}"})


def _layer(name: str) -> Layer:
    kind = KINDS[name]
    meta = kind.model._meta
    columns = tuple(_column(f) for f in meta.concrete_fields if f.name not in INTERNAL_FIELDS)
    geometry_type = "Point" if kind.geometry == "point" else "MultiPolygon"
    return Layer(name, str(meta.db_table), columns, geometry_type,
                 MUNICIPALITY_COLUMNS.get(name))


LAYERS: dict[str, Layer] = {name: _layer(name) for name in KINDS}
# Layers of other apps, made for the user who exports and the filter asked for (what a
# layer carries may depend on who asks: personal data only for those allowed; its own
# filters, such as a case's status, come as ``where`` conditions).
LayerFactory = Callable[[Any, dict[str, Any]], Layer]
_REGISTERED: dict[str, LayerFactory] = {}


def register(name: str, factory: LayerFactory) -> None:
    """Offer another app's layer for export under ``name``."""
    _REGISTERED[name] = factory


def layer_names() -> list[str]:
    """Every layer name an export may ask for."""
    return [*LAYERS, *_REGISTERED]


def layer_get(name: str, *, user: Any = None, filters: dict[str, Any] | None = None
              ) -> Layer:
    """Return the exportable layer of that name (a registered one made for ``user`` and
    ``filters``: ``kommunkod`` and the layer's own); raise UnknownLayer (400) otherwise."""
    key = name.strip().lower()
    if key in LAYERS:
        return LAYERS[key]
    if key in _REGISTERED:
        return _REGISTERED[key](user, filters or {})
    raise UnknownLayer(
        _("There is no layer %(layer)s to export; choose one of %(layers)s.")
        % {"layer": repr(name), "layers": ", ".join(layer_names())}) from None
