"""Shared by migrations (the loader skips modules whose names start with "_").

On SpatiaLite, Django rebuilds a table to alter a column or a constraint, and the rebuilt
table's spatial index is left disabled and empty; migrations that rebuild the cache
tables end with :func:`rebuild_spatial_indexes`.
"""

CACHE_TABLES = ("geodata_address", "geodata_building", "geodata_parcel", "geodata_plan",
                "geodata_regulation")


def rebuild_spatial_indexes(apps, schema_editor, columns=None):
    """Re-create (and fill) any SpatiaLite spatial index left disabled: of the cache
    tables, or of the (table, geometry column) pairs given (other apps' migrations)."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table, column in columns or [(t, "geom") for t in CACHE_TABLES]:
            cursor.execute("SELECT spatial_index_enabled FROM geometry_columns "
                           "WHERE f_table_name = %s AND f_geometry_column = %s",
                           [table, column])
            row = cursor.fetchone()
            if row is None or row[0]:
                continue
            cursor.execute(f'DROP TABLE IF EXISTS "idx_{table}_{column}"')
            cursor.execute("SELECT CreateSpatialIndex(%s, %s)", [table, column])
