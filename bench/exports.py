"""Benchmark of exports: N parcels of a PostGIS cache to GeoPackage, ours against ogr2ogr.

Both tools read the same cache table of the same database in the same run, taking turns
(the machine's load drifts), and write a GeoPackage in the CRS asked for; each run's
features a second and peak memory (RSS) are printed and written to
var/bench/exports.json. Target (the issue): a million parcels in under 500 MB.

    .venv/bin/python bench/exports.py --parcels 100000 [--crs EPSG:3014] [--repeat 3]

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
    data = dataset(parcels, plans=False)
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


def gpkg_count(path: Path) -> int:
    import pyogrio

    return int(pyogrio.read_info(path)["features"])


def bench_exports(parcels: int, crs: str, repeat: int) -> list[dict[str, Any]]:
    """Export the parcel cache with each tool in turn; one row a run."""
    count = load_parcels(parcels)
    out = VAR / "exports"
    out.mkdir(parents=True, exist_ok=True)
    ours = out / "lovkarta.gpkg"
    ref = out / "ogr2ogr.gpkg"
    tools = {
        "Lovkarta geodata_export": ([PY, "manage.py", "geodata_export", "parcels", "--format",
                                     "gpkg", "--crs", crs, "--out", str(ours)], ours),
        "ogr2ogr (GDAL)": (["ogr2ogr", "-f", "GPKG", str(ref), PG_OGR, "-sql",
                            f"SELECT {COLUMNS}, geom FROM geodata_parcel ORDER BY id",
                            "-nln", "parcels", "-nlt", "MULTIPOLYGON", "-t_srs", crs,
                            "-overwrite", "--config", "PG_USE_CURSOR", "YES"], ref),
    }
    rows: list[dict[str, Any]] = []
    for run in range(1, repeat + 1):
        for tool, (cmd, path) in tools.items():
            path.unlink(missing_ok=True)
            say(f"== run {run}: {tool}, {count:,} parcels to GeoPackage in {crs}")
            seconds, peak, output = timed(cmd, {"DATABASE_URL": DATABASE_URL})
            written = gpkg_count(path)
            if written != count:
                raise SystemExit(f"{tool} wrote {written} of {count} parcels:\n{output[-2000:]}")
            rows.append({"tool": tool, "run": run, "crs": crs, "features": written,
                         "seconds": seconds, "peak_mb": peak,
                         "features_per_s": round(written / seconds)})
    return rows


def summary(rows: list[dict[str, Any]]) -> list[str]:
    """Each tool's median speed and highest peak; ours as a multiple of ogr2ogr's."""
    lines, medians = [], {}
    for tool in dict.fromkeys(str(r["tool"]) for r in rows):
        mine = [r for r in rows if r["tool"] == tool]
        medians[tool] = statistics.median(float(r["features_per_s"]) for r in mine)
        peak = max(float(r["peak_mb"]) for r in mine)
        lines.append(f"{tool:24} median {medians[tool]:>9.0f} features/s, peak {peak:.0f} MB"
                     + (f" ({'met' if peak < 500 else 'NOT MET'}: under 500 MB)"
                        if tool.startswith("Lovkarta") else ""))
    if len(medians) == 2:
        a, b = medians.values()
        lines.append(f"Lovkarta / ogr2ogr: {a / b:.2f}x")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--crs", default="EPSG:3006")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (default 3)")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    rows = bench_exports(args.parcels, args.crs, args.repeat)
    (VAR / "exports.json").write_text(json.dumps(rows, indent=2))
    say(f"\nExport of the parcel cache (PostGIS) to GeoPackage in {args.crs}")
    say(f"{'tool':24} {'run':>3} {'features':>9} {'seconds':>8} {'feat/s':>8} {'peak MB':>8}")
    for r in rows:
        say(f"{r['tool']:24} {r['run']:>3} {r['features']:>9} {r['seconds']:8.1f} "
            f"{r['features_per_s']:>8} {r['peak_mb']:8.0f}")
    for line in summary(rows):
        say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
