"""Back up and restore the installation: the database and the media files, in one tar.

An archive holds ``database/lovkarta.sqlite3`` (SpatiaLite: SQLite's online backup API,
one consistent snapshot even while the app writes in WAL mode) or
``database/lovkarta.pgdump`` (PostGIS: ``pg_dump`` custom format), the files under
MEDIA_ROOT as ``media/...``, and ``manifest.json``: the sha256 and size of every member,
the rows of every table and the files the database refers to, all read from the same
snapshot the database was copied from. The media files are copied after the snapshot and
are written once, never changed, so every file the snapshot refers to is in the archive.

Restore checks every checksum before it touches anything, refuses a database that holds
tables unless forced, loads the snapshot, writes the media files, and checks the rows
and files against the manifest. The code is the same for every app: it finds the files
through the models' FileFields, so it lives beside the other installation commands
while importing no app's code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, connections, models

FORMAT = "lovkarta-backup"
VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


def engine() -> str:
    """Return "spatialite" or "postgis", the kinds of database an archive can hold."""
    name = connection.settings_dict["ENGINE"]
    for kind in ("spatialite", "postgis"):
        if name.endswith(kind):
            return kind
    raise CommandError(f"Backups cover SpatiaLite and PostGIS, not {name}")


def file_columns() -> list[tuple[str, str]]:
    """Return (table, column) of every FileField of every installed model."""
    return sorted({(model._meta.db_table, field.column)
                   for model in apps.get_models()
                   for field in model._meta.concrete_fields
                   if isinstance(field, models.FileField)})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def inventory(execute: Any, existing: set[str]) -> tuple[dict[str, int], list[str]]:
    """Count the rows of every Django table and list the files referred to.

    ``execute(sql)`` returns the rows of a query on the snapshot; ``existing`` is the set
    of tables the snapshot holds.
    """
    tables = sorted(set(connection.introspection.django_table_names()) & existing)
    # Identifiers come from the models and the snapshot's own tables, never from input.
    rows = {table: int(execute(f'SELECT count(*) FROM "{table}"')[0][0])  # noqa: S608
            for table in tables}
    files: set[str] = set()
    for table, column in file_columns():
        if table in existing:
            files.update(name for (name,) in execute(
                f'SELECT "{column}" FROM "{table}" WHERE "{column}" <> \'\'')  # noqa: S608
                if name)
    return rows, sorted(files)


def pg_env() -> dict[str, str]:
    """Return the environment that points pg_dump and pg_restore at the database."""
    db = connection.settings_dict
    values = {"PGDATABASE": db["NAME"], "PGHOST": db.get("HOST") or "",
              "PGPORT": str(db.get("PORT") or ""), "PGUSER": db.get("USER") or "",
              "PGPASSWORD": db.get("PASSWORD") or ""}
    return {**os.environ, **{k: v for k, v in values.items() if v}}


def snapshot_sqlite(out: Path) -> tuple[dict[str, int], list[str]]:
    """Copy the SpatiaLite file to ``out`` in one step of the online backup API."""
    source = sqlite3.connect(connection.settings_dict["NAME"], timeout=60)
    target = sqlite3.connect(out)
    try:
        source.backup(target)  # all pages at once: one read transaction, one snapshot
        # A file that stands alone: no WAL beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        existing = {name for (name,) in target.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        return inventory(lambda sql: target.execute(sql).fetchall(), existing)
    finally:
        target.close()
        source.close()


def snapshot_postgis(out: Path) -> tuple[dict[str, int], list[str]]:
    """Dump the PostGIS database to ``out`` and read the inventory in the same snapshot."""
    import psycopg

    env = pg_env()
    conninfo = {"dbname": env["PGDATABASE"], "host": env.get("PGHOST"),
                "port": env.get("PGPORT"), "user": env.get("PGUSER"),
                "password": env.get("PGPASSWORD")}
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        existing = {name for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        found = inventory(lambda sql: conn.execute(sql).fetchall(), existing)
        done = subprocess.run(["pg_dump", "--format=custom", f"--snapshot={snapshot}",
                               f"--file={out}"], env=env, capture_output=True, text=True)
        conn.rollback()
    if done.returncode != 0:
        raise CommandError(f"pg_dump failed: {done.stderr.strip()}")
    return found


def media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield (relative POSIX name, path) of every regular file under MEDIA_ROOT."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path.relative_to(root).as_posix(), path


class _Hashing:
    """A reader that hashes what tarfile copies, so each file is read once."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        block = self.handle.read(size)
        self.digest.update(block)
        return block


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict[str, Any]:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        reader = _Hashing(handle)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    return {"sha256": reader.digest.hexdigest(), "size": info.size}


def backup(destination: Path) -> dict[str, Any]:
    """Write one archive of the database and the media files; return its manifest."""
    kind = engine()
    media_root = Path(settings.MEDIA_ROOT)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with tempfile.TemporaryDirectory(dir=destination.parent) as scratch:
        db_name = "database/lovkarta." + ("sqlite3" if kind == "spatialite" else "pgdump")
        db_file = Path(scratch) / Path(db_name).name
        rows, referenced = (snapshot_sqlite if kind == "spatialite" else snapshot_postgis)(
            db_file)
        members: dict[str, dict[str, Any]] = {}
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            members[db_name] = _add(tar, db_name, db_file)
            for relative, path in media_files(media_root):
                members[f"media/{relative}"] = _add(tar, f"media/{relative}", path)
            missing = [name for name in referenced if f"media/{name}" not in members]
            manifest = {
                "format": FORMAT, "version": VERSION, "engine": kind,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": db_name, "rows": rows, "referenced_files": referenced,
                "missing_files": missing, "members": members,
            }
            body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(body), int(datetime.now(UTC).timestamp())
            tar.addfile(info, _BytesReader(body))  # type: ignore[arg-type]
    os.replace(partial, destination)
    return manifest


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        block, self.at = self.data[self.at:end], min(end, len(self.data))
        return block


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (not path.is_absolute() and ".." not in path.parts
            and path.parts[:1] in (("database",), ("media",)) and len(path.parts) > 1)


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        handle = tar.extractfile(MANIFEST)
    except KeyError as exc:
        raise CommandError("Not a Lovkarta backup: it has no manifest.json") from exc
    manifest = json.loads(handle.read()) if handle else {}
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise CommandError("Not a Lovkarta backup of a version this release can restore")
    return manifest


def verify(tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Check that the archive holds exactly the manifest's members, byte for byte."""
    members = manifest["members"]
    seen: set[str] = set()
    for info in tar.getmembers():
        if info.name == MANIFEST:
            continue
        if info.name not in members or not info.isfile() or not _safe(info.name):
            raise CommandError(f"The archive holds {info.name!r}, which its manifest does not list")
        digest = hashlib.sha256()
        handle = tar.extractfile(info)
        while handle and (block := handle.read(CHUNK)):
            digest.update(block)
        if digest.hexdigest() != members[info.name]["sha256"]:
            raise CommandError(f"Checksum mismatch in the archive: {info.name}")
        seen.add(info.name)
    if absent := sorted(set(members) - seen):
        raise CommandError(f"The archive lacks files its manifest lists: {absent[:5]}")


def database_is_empty() -> bool:
    names = set(connection.introspection.table_names())
    return "django_migrations" not in names and not (
        names & set(connection.introspection.django_table_names()))


def restore_sqlite(db_file: Path) -> None:
    """Copy the snapshot into the configured file with the backup API (WAL-safe)."""
    connections.close_all()
    target_path = Path(connection.settings_dict["NAME"])
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(db_file), sqlite3.connect(target_path, timeout=60)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore_postgis(db_file: Path, scratch: Path, force: bool) -> None:
    """Load the dump with pg_restore in one transaction; the extension stays the DBA's."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    connections.close_all()
    env = pg_env()
    listed = subprocess.run(["pg_restore", "--list", str(db_file)], env=env,
                            capture_output=True, text=True, check=True).stdout
    toc = scratch / "toc.list"
    toc.write_text("".join(line + "\n" for line in listed.splitlines()
                           if " EXTENSION " not in line))
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--use-list={toc}", f"--dbname={env['PGDATABASE']}"]
    if force:
        command += ["--clean", "--if-exists"]
    done = subprocess.run([*command, str(db_file)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandError(f"pg_restore failed (nothing was changed): {done.stderr.strip()}")


def write_media(tar: tarfile.TarFile, manifest: dict[str, Any]) -> int:
    """Write the archive's media files under MEDIA_ROOT (each to a temporary name first)."""
    root = Path(settings.MEDIA_ROOT)
    count = 0
    for name in manifest["members"]:
        if not name.startswith("media/"):
            continue
        path = root / PurePosixPath(name).relative_to("media")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".restoring")
        source = tar.extractfile(name)
        with partial.open("wb") as handle:
            shutil.copyfileobj(source, handle, CHUNK)  # type: ignore[misc]
        os.replace(partial, path)
        count += 1
    return count


def check_restored(manifest: dict[str, Any]) -> list[str]:
    """Return what differs from the manifest: row counts, files referred to."""
    problems = []
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table, expected in manifest["rows"].items():
            if table not in existing:
                problems.append(f"table {table} is missing")
                continue
            # Only a table the database has (checked above) is named here.
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            if (found := cursor.fetchone()[0]) != expected:
                problems.append(f"table {table}: {found} rows, the backup had {expected}")
    root = Path(settings.MEDIA_ROOT)
    for name in manifest["referenced_files"]:
        member = manifest["members"].get(f"media/{name}")
        path = root / name
        if member is None:
            continue  # missing when backed up; the backup reported it
        if not path.is_file() or sha256_of(path) != member["sha256"]:
            problems.append(f"file {name} differs from the backup")
    return problems


@contextmanager
def opened(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise CommandError(f"No such backup: {archive}")
    try:
        with tarfile.open(archive, "r:*") as tar:
            yield tar
    except tarfile.TarError as exc:
        raise CommandError(f"Not a readable backup archive: {exc}") from exc


def restore(archive: Path, *, force: bool) -> tuple[dict[str, Any], int]:
    """Restore ``archive`` into the configured database and MEDIA_ROOT."""
    kind = engine()
    with opened(archive) as tar:
        manifest = read_manifest(tar)
        if manifest["engine"] != kind:
            raise CommandError(f"This backup is of a {manifest['engine']} database; "
                               f"DATABASE_URL points at {kind}")
        verify(tar, manifest)
        if not force and not database_is_empty():
            raise CommandError("The database already holds tables: restore only into an "
                               "empty database, or pass --force to replace it")
        with tempfile.TemporaryDirectory() as scratch:
            db_file = Path(scratch) / "database"
            with db_file.open("wb") as handle:
                shutil.copyfileobj(tar.extractfile(manifest["database"]), handle, CHUNK)  # type: ignore[misc]
            if kind == "spatialite":
                restore_sqlite(db_file)
            else:
                restore_postgis(db_file, Path(scratch), force)
        written = write_media(tar, manifest)
    return manifest, written
