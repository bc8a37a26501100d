"""The review benchmarks' data: ~1,000,000 parcels and 100,000 cases in one PostGIS database.

    prepare_review_data(db: str = run.DB, *, cases: int = 100_000, buildings: bool = False,
                        parcels: int = 1_000_000, seed: int = 2281) -> ReviewData

prepares the PostGIS database ``db`` (default: env LOVKARTA_BENCH_DB, else lovkarta_bench)
and returns what a benchmark needs to use it (``ReviewData``: db, database_url, extent,
kommunkod, officer username, counts). Idempotent and shared: each step is skipped when the
database already holds its data, so several benchmarks reuse one load:

1. the database (created, migrated and given the demo data, as ``run.fresh_database``) when
   it does not exist or has no tables;
2. the ~1,000,000 parcels with plans and regulations (``run.load_million``, from
   var/bench/parcels-1000k-plans.gpkg) when source ``bench-1m-parcels`` has no parcels;
3. ``cases`` applications (case numbers ``BENCH-000001``...) unless exactly that many are
   there (a different count replaces them): every status of ``permits.workflow.Status``,
   most in town (on parcels inside detailed plans), the rest anywhere, each with its
   parcel, location (a point on the parcel), site (the whole parcel) and, for all but
   drafts, a drawn building footprint (``DrawnFeature`` kind ``byggnad``, 12 x 10 m on the
   parcel); deadlines, receipt and decision dates around today as the clock has them; all
   inserted by a few set-based SQL statements (no ORM row by row);
4. with ``buildings=True``, one building per parcel in town (source ``bench-1m-buildings``)
   unless that source already has buildings.

An officer ``bench-officer`` (staff roles officer and decision-maker in the municipality)
is assigned a share of the open cases; an applicant ``bench-applicant`` owns them all.
Neither has a usable password: benchmarks log in with ``Client.force_login``.

Run alone: ``LOVKARTA_BENCH_DB=... .venv/bin/python bench/review_data.py [--cases N]
[--buildings]``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/ is not a package: run.py sits beside this file)

CASE_PREFIX = "BENCH-"
OFFICER = "bench-officer"
APPLICANT = "bench-applicant"
# Share of cases per status (sums to 100): most are open, as in a busy municipality.
STATUS_SHARES = {"draft": 3, "submitted": 10, "incomplete": 8, "complete": 8, "review": 16,
                 "hearing": 5, "proposed": 5, "decided": 20, "notified": 20, "withdrawn": 5}
CASE_TYPES = ("BL", "BL", "BL", "BL", "BL", "RL", "MARK", "FÖRF", "ANM", "ATTANM", "TIDS",
              "DI")
MEASURES = ("nybyggnad", "tillbyggnad", "ändrad användning", "rivning", "marklov",
            "attefallsåtgärd", "eldstad", "skylt", "mur/plank", "fasadändring")
# Open cases were received lately (some are past their deadline), closed ones earlier.
OPEN_STATUSES = ("submitted", "incomplete", "complete", "review", "hearing", "proposed")
TOWN_SHARE = 0.85  # of the cases on parcels inside detailed plans


@dataclass(frozen=True)
class ReviewData:
    """A prepared review database."""

    db: str
    database_url: str
    extent: tuple[float, float, float, float]  # of the parcels, EPSG:3006
    kommunkod: str
    officer: str
    parcels: int
    cases: int
    buildings: int


def _use(db: str) -> None:
    """Point bench/run.py's helpers (fresh_database, load_million) at ``db``."""
    run.DB = db
    run.DATABASE_URL = f"postgis://{run.PG['user']}@{run.PG['host']}:{run.PG['port']}/{db}"
    run.PG_OGR = (f"PG:host={run.PG['host']} port={run.PG['port']} user={run.PG['user']} "
                  f"dbname={db}")


def _count(sql: str, db: str) -> int:
    return int(run.psql(sql, db) or 0)


def _has_schema(db: str) -> bool:
    if not run.psql(f"SELECT 1 FROM pg_database WHERE datname = '{db}'"):
        return False
    return run.psql("SELECT to_regclass('public.permits_application') IS NOT NULL", db) == "t"


def _ensure_parcels(db: str, parcels: int) -> None:
    loaded = _count("SELECT count(*) FROM geodata_parcel p JOIN geodata_source s ON "
                    "s.id = p.source_id WHERE s.name = 'bench-1m-parcels'", db)
    if loaded:
        run.say(f"== {db}: {loaded:,} parcels already loaded")
        return
    # A load that stopped half way: start the cache over (cases refer to parcels).
    run.psql("DELETE FROM geodata_source WHERE name LIKE 'bench-1m-%'", db)
    run.load_million(parcels)


def _ensure_people(db: str, kommunkod: str) -> tuple[int, int, int]:
    """Return (municipality id, officer id, applicant id), creating what is missing."""
    run.psql(f"INSERT INTO geodata_municipality (kommunkod, name) VALUES ('{kommunkod}', "
             f"'Sundsvall') ON CONFLICT (kommunkod) DO NOTHING", db)
    for name in (OFFICER, APPLICANT):
        run.psql("INSERT INTO auth_user (password, is_superuser, username, first_name, "
                 "last_name, email, is_staff, is_active, date_joined) SELECT '!', false, "
                 f"'{name}', '', '', '{name}@example.org', false, true, now() WHERE NOT "
                 f"EXISTS (SELECT 1 FROM auth_user WHERE username = '{name}')", db)
    municipality = _count(f"SELECT id FROM geodata_municipality WHERE kommunkod = "
                          f"'{kommunkod}'", db)
    officer = _count(f"SELECT id FROM auth_user WHERE username = '{OFFICER}'", db)
    applicant = _count(f"SELECT id FROM auth_user WHERE username = '{APPLICANT}'", db)
    for role in ("officer", "decision_maker"):
        run.psql(f"INSERT INTO permits_staffrole (user_id, municipality_id, role) SELECT "
                 f"{officer}, {municipality}, '{role}' WHERE NOT EXISTS (SELECT 1 FROM "
                 f"permits_staffrole WHERE user_id = {officer} AND municipality_id = "
                 f"{municipality} AND role = '{role}')", db)
    return municipality, officer, applicant


def _status_case_sql() -> str:
    """A CASE choosing a status from a row's share (0..99), by STATUS_SHARES."""
    whens, upto = [], 0
    for status, share in STATUS_SHARES.items():
        upto += share
        whens.append(f"WHEN c.share < {upto} THEN '{status}'")
    return "CASE " + " ".join(whens) + " END"


def _insert_cases(db: str, n: int, seed: int, municipality: int, officer: int,
                  applicant: int) -> None:
    """Insert ``n`` cases (and their drawn footprints) in set-based SQL."""
    town = int(n * TOWN_SHARE)
    types = "ARRAY[" + ", ".join(f"'{t}'" for t in CASE_TYPES) + "]"
    measures = "ARRAY[" + ", ".join(f"'{m}'" for m in MEASURES) + "]"
    open_sql = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    # Parcels chosen by a seeded hash (repeatable), most of them inside detailed plans.
    run.psql(f"""
CREATE TEMP TABLE chosen AS
WITH town AS (
  SELECT p.id FROM geodata_parcel p
  WHERE EXISTS (SELECT 1 FROM geodata_plan pl WHERE pl.geom && p.geom
                AND ST_Intersects(pl.geom, ST_PointOnSurface(p.geom)))
  ORDER BY md5(p.id::text || '{seed}') LIMIT {town}),
rest AS (
  SELECT p.id FROM geodata_parcel p WHERE p.id NOT IN (SELECT id FROM town)
  ORDER BY md5(p.id::text || '{seed}x') LIMIT {n - town}),
picked AS (SELECT id FROM town UNION ALL SELECT id FROM rest)
SELECT row_number() OVER (ORDER BY md5(id::text || '{seed}s')) AS n, id AS parcel_id,
       abs(hashtext(id::text || '{seed}')) AS h FROM picked;
INSERT INTO permits_application (
  municipality_id, applicant_id, case_type, measure, description, location, site,
  site_is_whole_parcel, building_area_m2, height_m, floors, contact_name, contact_email,
  contact_phone, parcel_id, property_designation, parcel_objektidentitet, status,
  case_number, created_at, submitted_at, assigned_to_id, received_on,
  completion_requested_on, complete_on, extended_weeks, extension_reason, deadline,
  decided_on, outcome, notified_on, fee_sek, fee_reduction_fifths)
SELECT {municipality}, {applicant}, ({types})[1 + s.h % {len(CASE_TYPES)}],
  ({measures})[1 + (s.h / 7) % {len(MEASURES)}], 'Benchmark case',
  ST_PointOnSurface(p.geom), ST_Multi(p.geom), true, 120, 6.5, 2,
  'Bench Applicant', 'bench-applicant@example.org', '',
  p.id, p.beteckning, p.objektidentitet, s.status,
  CASE WHEN s.status = 'draft' THEN NULL ELSE '{CASE_PREFIX}' || lpad(s.n::text, 6, '0') END,
  now() - s.age * interval '1 day',
  CASE WHEN s.status = 'draft' THEN NULL ELSE now() - s.age * interval '1 day' END,
  CASE WHEN s.status <> 'draft' AND s.h % 3 = 0 THEN {officer} END,
  CASE WHEN s.status = 'draft' THEN NULL ELSE current_date - s.age END,
  CASE WHEN s.status = 'incomplete' THEN current_date - s.age + 10 END,
  CASE WHEN s.status NOT IN ('draft', 'submitted', 'incomplete')
       THEN current_date - s.age + 14 END,
  0, '',
  CASE WHEN s.status = 'draft' THEN NULL
       WHEN s.status = 'incomplete' THEN current_date - s.age + 10 + 70
       ELSE current_date - s.age + 70 END,
  CASE WHEN s.status IN ('decided', 'notified') THEN current_date - s.age + 60 END,
  CASE WHEN s.status IN ('decided', 'notified') THEN 'granted' ELSE '' END,
  CASE WHEN s.status = 'notified' THEN current_date - s.age + 65 END,
  CASE WHEN s.status = 'draft' THEN NULL ELSE 8000 + s.h % 30000 END, NULL
FROM (SELECT t.*, CASE WHEN t.status IN ({open_sql}) THEN (t.h / 13) % 110
                        ELSE 60 + (t.h / 13) % 600 END AS age
      FROM (SELECT c.*, {_status_case_sql()} AS status
            FROM (SELECT chosen.*, (h / 3) % 100 AS share FROM chosen) c) t) s
JOIN geodata_parcel p ON p.id = s.parcel_id;
INSERT INTO permits_drawnfeature (application_id, kind, geom)
SELECT a.id, 'byggnad', ST_MakeEnvelope(ST_X(a.location) - 6, ST_Y(a.location) - 5,
                                        ST_X(a.location) + 6, ST_Y(a.location) + 5, 3006)
FROM permits_application a
WHERE a.description = 'Benchmark case' AND a.status <> 'draft'
  AND a.applicant_id = {applicant};
""", db)


def _ensure_cases(db: str, n: int, seed: int, people: tuple[int, int, int]) -> int:
    municipality, officer, applicant = people
    have = _count(f"SELECT count(*) FROM permits_application WHERE applicant_id = "
                  f"{applicant}", db)
    if have == n:
        run.say(f"== {db}: {have:,} cases already there")
        return have
    if have:
        run.say(f"== {db}: replacing {have:,} cases by {n:,}")
        # The audit trail of a bench case cannot be removed through the app; here it goes
        # with its cases (it is bench data).
        ids = f"SELECT id FROM permits_application WHERE applicant_id = {applicant}"
        for table in ("permits_drawnfeature", "permits_applicationevent"):
            run.psql(f"DELETE FROM {table} WHERE application_id IN ({ids})", db)
        run.psql(f"DELETE FROM permits_application WHERE applicant_id = {applicant}", db)
    if n:
        started = time.monotonic()
        _insert_cases(db, n, seed, municipality, officer, applicant)
        run.psql("ANALYZE permits_application; ANALYZE permits_drawnfeature", db)
        run.say(f"== {db}: {n:,} cases inserted in {time.monotonic() - started:.0f} s")
    return n


def _ensure_buildings(db: str) -> int:
    have = _count("SELECT count(*) FROM geodata_building b JOIN geodata_source s ON "
                  "s.id = b.source_id WHERE s.name = 'bench-1m-buildings'", db)
    if have:
        return have
    run.psql("DELETE FROM geodata_source WHERE name = 'bench-1m-buildings'", db)
    run.psql("INSERT INTO geodata_source (name, protocol, version, url, layer, crs, holds, "
             "preset, page_size, enabled, auth, credentials_env, consecutive_failures, filter, "
             "service_info) VALUES ('bench-1m-buildings', 'wfs', '2.0.0', "
             "'http://127.0.0.1/x', 'x', 'EPSG:3006', 'buildings', 'lantmateriet', 1000, "
             "false, 'none', '', 0, '', '{}')", db)
    run.psql("INSERT INTO geodata_syncrun (source_id, started_at, finished_at, outcome, "
             "fetched, added, changed, removed, rejected, repaired, source_version, error, "
             "rejections, repairs, server_count_exact) SELECT id, now(), now(), 'succeeded', "
             "0, 0, 0, 0, 0, 0, '', '', '', '', false FROM geodata_source WHERE name = "
             "'bench-1m-buildings'", db)
    # A house of 10 x 8 m around a point of each parcel in town.
    run.psql("""
INSERT INTO geodata_building (objektidentitet, source_id, synced_at, content_hash,
  objektstatus, huvudandamal, husnummer, nybyggnadsar, registerenhetsreferens, geom)
SELECT md5('b' || p.id)::uuid, (SELECT id FROM geodata_source WHERE name =
  'bench-1m-buildings'), now(), '', 'Befintlig', 'Bostad', 1, 1960 + p.id % 60,
  p.registerenhetsreferens,
  ST_Multi(ST_MakeEnvelope(ST_X(c) - 5, ST_Y(c) - 4, ST_X(c) + 5, ST_Y(c) + 4, 3006))
FROM (SELECT id, registerenhetsreferens, ST_PointOnSurface(geom) c FROM geodata_parcel p
      WHERE EXISTS (SELECT 1 FROM geodata_plan pl WHERE pl.geom && p.geom)) p;
ANALYZE geodata_building;
""", db)
    return _count("SELECT count(*) FROM geodata_building b JOIN geodata_source s ON "
                  "s.id = b.source_id WHERE s.name = 'bench-1m-buildings'", db)


def prepare_review_data(db: str = run.DB, *, cases: int = 100_000, buildings: bool = False,
                        parcels: int = 1_000_000, seed: int = 2281) -> ReviewData:
    """Prepare (or reuse) a PostGIS database with the parcels, plans, regulations, cases
    and, if asked, buildings the review benchmarks read."""
    _use(db)
    if not _has_schema(db):
        run.fresh_database()
    _ensure_parcels(db, parcels)
    kommunkod = run.psql("SELECT kommunkod FROM geodata_parcel LIMIT 1", db)
    people = _ensure_people(db, kommunkod)
    have = _ensure_cases(db, cases, seed, people)
    built = _ensure_buildings(db) if buildings else _count(
        "SELECT count(*) FROM geodata_building", db)
    extent = run.psql("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                      "(SELECT ST_Extent(geom) e FROM geodata_parcel) x", db)
    x0, y0, x1, y1 = (float(v) for v in extent.split("|"))
    return ReviewData(db=db, database_url=run.DATABASE_URL, extent=(x0, y0, x1, y1),
                      kommunkod=kommunkod, officer=OFFICER,
                      parcels=_count("SELECT count(*) FROM geodata_parcel", db), cases=have,
                      buildings=built)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--buildings", action="store_true")
    args = parser.parse_args()
    print(prepare_review_data(cases=args.cases, buildings=args.buildings))
