"""Fewer indexes on the cache tables (each costs every synced row).

The last step rebuilds the SpatiaLite spatial indexes Django's table rebuild disables.
"""

import django.db.models.deletion
from django.db import migrations, models

from geodata.migrations._spatialite import rebuild_spatial_indexes

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
