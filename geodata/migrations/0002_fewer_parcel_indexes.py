"""Fewer indexes on the cache tables (each costs every synced row).

On SpatiaLite, Django rebuilds a table to alter a column and the rebuilt table's spatial
index is left disabled and empty; the last step rebuilds those indexes.
"""

import django.db.models.deletion
from django.db import migrations, models

CACHE_TABLES = ("geodata_address", "geodata_building", "geodata_parcel", "geodata_plan",
                "geodata_regulation")


def rebuild_spatial_indexes(apps, schema_editor):
    """Re-create (and fill) any SpatiaLite spatial index of a cache table left disabled."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for table in CACHE_TABLES:
            cursor.execute("SELECT spatial_index_enabled FROM geometry_columns "
                           "WHERE f_table_name = %s AND f_geometry_column = 'geom'", [table])
            row = cursor.fetchone()
            if row is None or row[0]:
                continue
            cursor.execute(f'DROP TABLE IF EXISTS "idx_{table}_geom"')
            cursor.execute("SELECT CreateSpatialIndex(%s, 'geom')", [table])


class Migration(migrations.Migration):

    dependencies = [
        ('geodata', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='address',
            name='source',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='geodata.source'),
        ),
        migrations.AlterField(
            model_name='building',
            name='source',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='geodata.source'),
        ),
        migrations.AlterField(
            model_name='parcel',
            name='beteckning',
            field=models.CharField(max_length=250),
        ),
        migrations.AlterField(
            model_name='parcel',
            name='kommunkod',
            field=models.CharField(max_length=4),
        ),
        migrations.AlterField(
            model_name='parcel',
            name='kort_beteckning',
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name='parcel',
            name='source',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='geodata.source'),
        ),
        migrations.AlterField(
            model_name='plan',
            name='source',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='geodata.source'),
        ),
        migrations.AlterField(
            model_name='regulation',
            name='source',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='geodata.source'),
        ),
        migrations.AddIndex(
            model_name='parcel',
            index=models.Index(fields=['beteckning'], name='parcel_beteckning_idx', opclasses=['varchar_pattern_ops']),
        ),
        migrations.AddIndex(
            model_name='parcel',
            index=models.Index(fields=['kort_beteckning'], name='parcel_kort_beteckning_idx', opclasses=['varchar_pattern_ops']),
        ),
        migrations.AddIndex(
            model_name='parcel',
            index=models.Index(fields=['kommunkod'], name='parcel_kommunkod_idx'),
        ),
        migrations.RunPython(rebuild_spatial_indexes, migrations.RunPython.noop),
    ]
