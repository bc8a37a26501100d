"""The cache tables keep what makes them fast: a spatial index on every geometry."""

from __future__ import annotations

import pytest
from django.db import connection

from geodata.models import Address, Building, Parcel, Plan, Regulation

pytestmark = pytest.mark.django_db

MODELS = (Address, Building, Parcel, Plan, Regulation)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_cache_geometry_has_a_filled_spatial_index(demo_data, model):
    table = model._meta.db_table
    rows = model.objects.count()
    assert rows > 0
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A table rebuilt by a migration once lost its index (parcel at point found
            # nothing): the index must be enabled and hold every row.
            cursor.execute("SELECT spatial_index_enabled FROM geometry_columns "
                           "WHERE f_table_name = %s AND f_geometry_column = 'geom'", [table])
            assert cursor.fetchone() == (1,)
            cursor.execute(f'SELECT count(*) FROM "idx_{table}_geom"')  # noqa: S608
            assert cursor.fetchone() == (rows,)
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
            definitions = [d for (d,) in cursor.fetchall()]
            assert any("USING gist (geom)" in d for d in definitions), definitions


def test_parcel_table_has_one_index_per_search(demo_data):
    """Every index costs each synced row: no duplicates of what another index serves."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Parcel._meta.db_table)
    columns = [tuple(c["columns"]) for c in indexes.values() if c["index"] or c["unique"]]
    assert len(columns) == len(set(columns)), columns
    # Lookups by identity and by source are served by the unique constraint's index.
    assert ("objektidentitet", "source_id") in columns
    assert ("source_id",) not in columns and ("objektidentitet",) not in columns
