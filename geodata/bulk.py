"""Fast writes of many cached features, on PostGIS and SpatiaLite alike.

Django's bulk_create builds model instances and one huge SQL string per batch; for a sync
of a hundred thousand features that costs more than fetching them. Here rows are plain
tuples and geometries WKB bytes: PostGIS gets them through COPY, SpatiaLite through
executemany with GeomFromWKB. Callers run these inside their transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from geodata.crs import STORAGE_SRID


def _columns(model: Any, fields: Sequence[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def _preparers(model: Any, fields: Sequence[str], connection: BaseDatabaseWrapper) -> list[Any]:
    """Return per-column functions turning Python values into what the database takes."""
    def prep(field: Any) -> Any:
        return lambda value: field.get_db_prep_save(value, connection)

    return [prep(model._meta.get_field(name)) for name in fields[:-1]]


def insert_rows(model: Any, fields: Sequence[str], rows: Iterable[Sequence[Any]],
                connection: BaseDatabaseWrapper = default_connection) -> int:
    """Insert rows whose last value is the geometry as WKB; return how many.

    ``connection`` is the calling thread's by default; a sync's writer thread passes the
    connection (and so the transaction) of the thread that started the sync.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = _columns(model, fields)
    names = ", ".join(quote(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    # Hex EWKB is what PostGIS reads as geometry text input.
                    copy.write_row([*row[:-1], _ewkb_hex(row[-1])])
                    count += 1
        else:
            marks = ", ".join(["%s"] * (len(columns) - 1) + [
                f"GeomFromWKB(%s, {STORAGE_SRID})"])
            batch: list[Sequence[Any]] = []
            # Table and column names come from the models, quoted; values are parameters.
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            prep = _preparers(model, fields, connection)
            for row in rows:
                batch.append([p(v) for p, v in zip(prep, row[:-1], strict=True)]
                             + [bytes(row[-1])])
                if len(batch) >= 5000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


def update_rows(model: Any, fields: Sequence[str], rows: Iterable[Sequence[Any]],
                connection: BaseDatabaseWrapper = default_connection) -> None:
    """Update rows by primary key: each row is (values..., WKB geometry, pk)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = _columns(model, fields)
    geom_from = "ST_GeomFromWKB" if connection.vendor == "postgresql" else "GeomFromWKB"
    sets = [f"{quote(c)} = %s" for c in columns[:-1]]
    sets.append(f"{quote(columns[-1])} = {geom_from}(%s, {STORAGE_SRID})")
    sql = (f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (names from the models)
           f"WHERE {quote(model._meta.pk.column)} = %s")
    prep = _preparers(model, fields, connection)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[p(v) for p, v in zip(prep, row[:-2], strict=True)]
                                 + [bytes(row[-2]), row[-1]] for row in rows])


def _ewkb_hex(wkb: bytes) -> str:
    """Return hex EWKB with the storage SRID for plain little- or big-endian WKB."""
    little = wkb[0] == 1
    kind = int.from_bytes(wkb[1:5], "little" if little else "big") | 0x20000000
    srid = STORAGE_SRID.to_bytes(4, "little" if little else "big")
    return (wkb[:1] + kind.to_bytes(4, "little" if little else "big") + srid
            + wkb[5:]).hex()
