"""Restore drill: back up a database with the demo's forty cases (attachments, decision
PDFs, audit trails), restore it into a fresh database and a fresh MEDIA_ROOT, and find
every case, event, attachment and decision the same, every file byte for byte. On the
suite's own database: a new SpatiaLite file, or a new PostGIS database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.permits.conftest import demo_cases  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db(transaction=True)

# Run here on the source and in a fresh process on the restored copy.
RECORDS = """
import hashlib, json
from django.conf import settings
from django.core import serializers
from permits.models import Application, ApplicationEvent, Attachment, Decision
records = {model.__name__: json.loads(serializers.serialize("json", model.objects.order_by("pk")))
           for model in (Application, ApplicationEvent, Attachment, Decision)}
files = {}
for row in records["Attachment"] + records["Decision"]:
    name = row["fields"].get("file") or row["fields"].get("document")
    if name:
        with open(f"{settings.MEDIA_ROOT}/{name}", "rb") as handle:
            files[name] = hashlib.sha256(handle.read()).hexdigest()
print(json.dumps({"records": records, "files": files}, sort_keys=True))
"""


def source_records() -> dict:
    from contextlib import redirect_stdout
    from io import StringIO

    out = StringIO()
    with redirect_stdout(out):
        exec(RECORDS, {})  # noqa: S102
    return json.loads(out.getvalue())


@pytest.fixture
def fresh_database(tmp_path):
    """A database URL no one has used: a new file, or a new PostGIS database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        yield f"spatialite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    name = f"{db['NAME']}_restored"
    params = {"dbname": "postgres", "host": db["HOST"] or None, "port": db["PORT"] or None,
              "user": db["USER"] or None, "password": db["PASSWORD"] or None}
    params = {k: v for k, v in params.items() if v}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(**{**params, "dbname": name}, autocommit=True) as new:
        new.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    yield f"postgis://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(args: list[str], database_url: str, media: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOVKARTA_MEDIA_ROOT": str(media)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_backup_restores_into_a_fresh_database_byte_for_byte(
        demo_cases, fresh_database, tmp_path, settings):  # noqa: F811
    before = source_records()
    records = before["records"]
    assert len(records["Application"]) >= 40
    assert len(records["Attachment"]) >= 40 and len(before["files"]) > len(records["Attachment"])
    assert any(row["fields"]["document"] for row in records["Decision"])
    assert len(records["ApplicationEvent"]) > 100

    archive = tmp_path / "lovkarta.tar"
    call_command("lovkarta_backup", str(archive), stdout=open(os.devnull, "w"))  # noqa: SIM115
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["rows"]["permits_application"] == len(records["Application"])
    assert manifest["missing_files"] == []
    assert set(before["files"]) <= set(manifest["referenced_files"])

    media = tmp_path / "restored-media"
    done = manage(["lovkarta_restore", str(archive)], fresh_database, media)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all checksums and row counts match" in done.stdout

    probe = manage(["shell", "-v", "0", "-c", RECORDS], fresh_database, media)
    assert probe.returncode == 0, probe.stderr[-3000:]
    after = json.loads(probe.stdout.strip().splitlines()[-1])
    for model, rows in records.items():
        assert after["records"][model] == rows, model
    assert after["files"] == before["files"]
    for name in before["files"]:
        assert (media / name).read_bytes() == (Path(settings.MEDIA_ROOT) / name).read_bytes()

    # A second restore would overwrite: refused without --force.
    again = manage(["lovkarta_restore", str(archive)], fresh_database, media)
    assert again.returncode != 0 and "--force" in again.stderr


def test_a_damaged_archive_is_refused_before_anything_is_touched(demo_users, tmp_path):
    archive = tmp_path / "lovkarta.tar"
    call_command("lovkarta_backup", str(archive), stdout=open(os.devnull, "w"))  # noqa: SIM115
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as out:
        for info in source.getmembers():
            data = source.extractfile(info).read()
            if info.name.startswith("database/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            out.addfile(info, __import__("io").BytesIO(data))
    with pytest.raises(CommandError, match="Checksum mismatch"):
        call_command("lovkarta_restore", str(damaged), "--force")
    # The database is non-empty (this one): refused without --force, untouched.
    with pytest.raises(CommandError, match="--force"):
        call_command("lovkarta_restore", str(archive))
