"""Benchmark of exports: N parcels of a PostGIS cache to files, ours against ogr2ogr.

Both tools read the same cache table of the same database in the same run, taking turns
(the machine's load drifts), and write a GeoPackage in the CRS asked for; each run's
features a second and peak memory (RSS) are printed and written to
var/bench/exports.json. Target (the issue): a million parcels in under 500 MB.

    .venv/bin/python bench/exports.py --parcels 100000 [--crs EPSG:3014] [--repeat 3]
        [--formats gpkg fgb]

bench/run.py (``make bench``) runs ``bench_exports_in`` on its 1,000,000-parcel database,
to GeoPackage and FlatGeobuf (target: at least 2x ogr2ogr, peak under 500 MB).

Needs PostgreSQL with PostGIS on 127.0.0.1:5432, as bench/run.py does; uses a database of
its own (lovkarta_bench_exports) so that it can run beside bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from run import PG, PY, VAR, dataset, psql, say, timed

DB = "lovkarta_bench_exports"
DATABASE_URL = f"postgis://{PG['user']}@{PG['host']}:{PG['port']}/{DB}"
PG_OGR = f"PG:host={PG['host']} port={PG['port']} user={PG['user']} dbname={DB}"
# What an export of ours carries (geodata/exports/layers.py), for ogr2ogr to write the same.
COLUMNS = ("objektidentitet::text AS objektidentitet, registerenhetsreferens::text AS "
           "registerenhetsreferens, objekttyp, kommunkod, kommunnamn, trakt, block, enhet, "
           "omradesnummer, etikett, beteckning, kort_beteckning, senastandrad")


def load_parcels(parcels: int) -> int:
    """Make a fresh database whose parcel cache holds the generated parcels; their count."""
    # The dataset with plans holds the same parcel layer: use it where it already exists
    # rather than generating another file of the same parcels.
    with_plans = VAR / f"parcels-{parcels // 1000}k-plans.gpkg"
    data = with_plans if with_plans.exists() else dataset(parcels, plans=False)
    say(f"== fresh PostGIS database {DB} with {data.name} in its parcel cache")
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION postgis", DB)
    timed([PY, "manage.py", "migrate", "-v", "0"], {"DATABASE_URL": DATABASE_URL})
    timed(["ogr2ogr", "-f", "PostgreSQL", PG_OGR, str(data), "registerenhetsomradesytor",
           "-nln", "raw_parcels", "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco",
           "SPATIAL_INDEX=NONE", "-nlt", "MULTIPOLYGON", "--config", "PG_USE_COPY", "YES"])
    psql("INSERT INTO geodata_source (name, protocol, version, url, layer, crs, holds, "
         "preset, page_size, enabled, auth, credentials_env, consecutive_failures, filter, "
         "service_info) VALUES ('bench-exports', 'wfs', '2.0.0', 'http://127.0.0.1/x', 'x', "
         "'EPSG:3006', 'parcels', 'lantmateriet', 1000, false, 'none', '', 0, '', '{}')", DB)
    psql("INSERT INTO geodata_parcel (objektidentitet, source_id, synced_at, content_hash, "
         "registerenhetsreferens, objekttyp, kommunkod, kommunnamn, trakt, block, enhet, "
         "omradesnummer, etikett, beteckning, kort_beteckning, senastandrad, geom) "
         "SELECT objektidentitet::uuid, (SELECT id FROM geodata_source WHERE name = "
         "'bench-exports'), now(), '', registerenhetsreferens::uuid, objekttyp, kommunkod, "
         "kommunnamn, trakt, block, enhet, omradesnummer, etikett, upper(kommunnamn || ' ' || "
         "trakt || ' ' || CASE WHEN block = '' THEN enhet ELSE block || ':' || enhet END), "
         "trakt || ' ' || CASE WHEN block = '' THEN enhet ELSE block || ':' || enhet END, "
         "senastandrad::date, geom FROM raw_parcels", DB)
    psql("DROP TABLE raw_parcels", DB)
    psql("VACUUM ANALYZE", DB)
    return int(psql("SELECT count(*) FROM geodata_parcel", DB))


def feature_count(path: Path) -> int:
    import pyogrio

    return int(pyogrio.read_info(path)["features"])


# GDAL's driver and our format name for each file format measured.
DRIVERS = {"gpkg": ("GPKG", ".gpkg"), "fgb": ("FlatGeobuf", ".fgb")}


def loaded_parcels() -> int | None:
    """Return how many parcels this script's database holds (None if it does not exist)."""
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"):
        return None
    return int(psql("SELECT count(*) FROM geodata_parcel", DB))


def bench_exports(parcels: int, crs: str, repeat: int,
                  formats: tuple[str, ...] = ("gpkg",), reuse: bool = False
                  ) -> list[dict[str, Any]]:
    """Load the parcels into this script's database (or, with ``reuse``, take what a
    previous run loaded), then export them (below)."""
    count = (loaded_parcels() if reuse else None) or load_parcels(parcels)
    return bench_exports_in(DB, DATABASE_URL, count, crs, repeat, formats)


def bench_exports_in(db: str, database_url: str, count: int, crs: str, repeat: int,
                     formats: tuple[str, ...]) -> list[dict[str, Any]]:
    """Export the parcel cache of ``db`` with each tool in turn; one row a run.

    ogr2ogr reads the same columns from the same table (GDAL's PostgreSQL driver, its
    default cursor; measured here, this ``-sql`` ran faster than naming the table, which
    carries five more columns, and ``-gt unlimited``, ``OGR_SQLITE_SYNCHRONOUS=OFF`` and
    ``OGR_PG_CURSOR_PAGE=10000`` did not make it faster) and writes the same file format
    with its defaults (a GeoPackage's R-tree and a FlatGeobuf's index included, as ours
    are); peak memory is the kernel's account of each process (``ru_maxrss``).
    """
    pg_ogr = f"PG:host={PG['host']} port={PG['port']} user={PG['user']} dbname={db}"
    out = VAR / "exports"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for fmt in formats:
        driver, suffix = DRIVERS[fmt]
        ours, ref = out / f"lovkarta{suffix}", out / f"ogr2ogr{suffix}"
        tools = {
            "Lovkarta geodata_export": ([PY, "manage.py", "geodata_export", "parcels",
                                         "--format", fmt, "--crs", crs, "--out", str(ours)],
                                        ours),
            "ogr2ogr (GDAL)": (["ogr2ogr", "-f", driver, str(ref), pg_ogr, "-sql",
                                f"SELECT {COLUMNS}, geom FROM geodata_parcel", "-nln",
                                "parcels", "-nlt", "MULTIPOLYGON", "-overwrite"]
                               + (["-t_srs", crs] if crs != "EPSG:3006" else []), ref),
        }
        for run in range(1, repeat + 1):
            for tool, (cmd, path) in tools.items():
                path.unlink(missing_ok=True)
                say(f"== run {run}: {tool}, {count:,} parcels to {driver} in {crs}")
                seconds, peak, output = timed(cmd, {"DATABASE_URL": database_url})
                written = feature_count(path)
                if written != count:
                    raise SystemExit(f"{tool} wrote {written} of {count} parcels:\n"
                                     f"{output[-2000:]}")
                rows.append({"tool": tool, "format": fmt, "run": run, "crs": crs,
                             "features": written, "seconds": seconds, "peak_mb": peak,
                             "features_per_s": round(written / seconds)})
    return rows


def summary(rows: list[dict[str, Any]], target: float = 2.0) -> list[str]:
    """For each format, each tool's median speed and highest peak; ours as a multiple of
    ogr2ogr's: of the medians, and run by run (each pair measured back to back)."""
    lines = []
    for fmt in dict.fromkeys(str(r.get("format", "gpkg")) for r in rows):
        mine = [r for r in rows if r.get("format", "gpkg") == fmt]
        medians, runs = {}, {}
        for tool in dict.fromkeys(str(r["tool"]) for r in mine):
            theirs = [r for r in mine if r["tool"] == tool]
            runs[tool] = {r["run"]: r for r in theirs}
            medians[tool] = statistics.median(float(r["features_per_s"]) for r in theirs)
            peak = max(float(r["peak_mb"]) for r in theirs)
            lines.append(f"{fmt:5} {tool:24} median {medians[tool]:>9.0f} features/s, peak "
                         f"{peak:.0f} MB" + (f" ({'met' if peak < 500 else 'NOT MET'}: under "
                                             "500 MB)" if tool.startswith("Lovkarta") else ""))
        if len(medians) == 2:
            (a_tool, a), (b_tool, b) = medians.items()
            pairs = [float(runs[b_tool][n]["seconds"]) / float(r["seconds"])
                     for n, r in sorted(runs[a_tool].items()) if n in runs[b_tool]]
            ratio = a / b
            lines.append(f"{fmt:5} Lovkarta / ogr2ogr: {ratio:.2f}x (run by run "
                         f"{', '.join(f'{p:.2f}x' for p in pairs)}) "
                         f"({'met' if ratio >= target else 'NOT MET'}: at least {target:g}x)")
    return lines


def print_exports(rows: list[dict[str, Any]], title: str) -> None:
    say(f"\n{title}")
    say(f"{'tool':24} {'fmt':5} {'run':>3} {'features':>9} {'seconds':>8} {'feat/s':>8} "
        f"{'peak MB':>8}")
    for r in rows:
        say(f"{r['tool']:24} {r.get('format', 'gpkg'):5} {r['run']:>3} {r['features']:>9} "
            f"{r['seconds']:8.1f} {r['features_per_s']:>8} {r['peak_mb']:8.0f}")
    for line in summary(rows):
        say(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--crs", default="EPSG:3006")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (default 3)")
    parser.add_argument("--formats", nargs="+", choices=sorted(DRIVERS), default=["gpkg"])
    parser.add_argument("--reuse", action="store_true",
                        help="export what the database holds from a previous run "
                             "(whatever its number of parcels) instead of loading afresh")
    parser.add_argument("--load-only", action="store_true",
                        help="load the database and stop")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    if args.load_only:
        say(f"{load_parcels(args.parcels):,} parcels loaded into {DB}")
        return 0
    rows = bench_exports(args.parcels, args.crs, args.repeat, tuple(args.formats),
                         reuse=args.reuse)
    (VAR / "exports.json").write_text(json.dumps(rows, indent=2))
    print_exports(rows, f"Export of the parcel cache (PostGIS) in {args.crs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
