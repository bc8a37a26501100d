"""On PostgreSQL, check runs' results and changes are compressed with lz4 instead of pglz
when TOASTed (a result is ~4 KB: a re-check of thousands of cases compresses megabytes,
and lz4 does it several times faster). Values stored before keep their compression until
rewritten. Nothing to do on SpatiaLite."""

from django.db import migrations

TABLE = "permits_casecheck"


def _compression(method: str):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for column in ("result", "changes"):
            schema_editor.execute(
                f"ALTER TABLE {TABLE} ALTER COLUMN {column} SET COMPRESSION {method}")
    return apply


class Migration(migrations.Migration):

    dependencies = [
        ("permits", "0006_hearings"),
    ]

    operations = [
        migrations.RunPython(_compression("lz4"), _compression("default"), elidable=False),
    ]
