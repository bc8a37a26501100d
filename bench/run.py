"""Benchmarks of geodata against reference tools measured in the same run (`make bench`).

1. Sync of ~100,000 parcels from the local MapServer into PostGIS over WFS 2.0 and over
   OGC API Features, against ogr2ogr loading the same service into the same database.
   Target: at least as fast as ogr2ogr; peak memory under 500 MB.
2. Parcel at point and detail report at ~1,000,000 parcels on PostGIS, against the bare
   SQL through psycopg for the same points; p50 and p95. Target: p95 under 3x the bare
   query, and through the HTTP API under 20 ms.
3. Export of those ~1,000,000 parcels to GeoPackage and FlatGeobuf, against ogr2ogr
   (PostGIS to file) in the same run, taking turns (bench/exports.py). Target: at least
   2x ogr2ogr's features/s; peak memory under 500 MB.
4. OGC API - Features items (limit 1,000, random 2 km boxes in town, crs and bbox-crs
   EPSG:3006) against the bare SQL building the same page and against pygeoapi 0.21's
   PostgreSQL provider on the same table (bench/ogcapi.py). Target: p95 at most 2x the
   bare SQL's; features/s at least 1.5x pygeoapi's.
5. The review map's tiles (z14, z16 in town; 100,000 cases beside the parcels) against the
   bare ST_AsMVT for the same tile and layers (bench/review_tiles.py). Target: p95 at most
   1.5x.
6. The checks: one footprint against the bare SQL of the same intersections (p95 at most
   3x; under 100 ms through the HTTP API), and a re-check of 10,000 open cases after a plan
   change against geopandas' overlay of the same (at most 1.5x) (bench/review_checks.py).
7. The load test (Locust) against the production stack with the million parcels: pages
   p95 < 300 ms, submit < 1 s, API < 50 ms, no errors (bench/load.py).

Needs PostgreSQL with PostGIS on 127.0.0.1:5432 (`.ci/run` and `make deps WITH_POSTGIS=1`
install it). Results are printed and written to var/bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VAR = ROOT / "var" / "bench"
PY = sys.executable
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
# LOVKARTA_BENCH_DB lets two benchmark runs on one machine keep apart.
DB = os.environ.get("LOVKARTA_BENCH_DB", "lovkarta_bench")
DATABASE_URL = f"postgis://{PG['user']}@{PG['host']}:{PG['port']}/{DB}"
PG_OGR = f"PG:host={PG['host']} port={PG['port']} user={PG['user']} dbname={DB}"


def say(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return wall seconds, peak memory in MB and its output."""
    started = time.monotonic()
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, output


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-X", "-q", "-At", "-h", PG["host"], "-p", PG["port"],
                           "-U", PG["user"], "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def fresh_database() -> None:
    say(f"== fresh PostGIS database {DB}")
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    psql("CREATE EXTENSION postgis", DB)
    timed([PY, "manage.py", "migrate", "-v", "0"], {"DATABASE_URL": DATABASE_URL})
    timed([PY, "manage.py", "lovkarta_demo"], {"DATABASE_URL": DATABASE_URL})


def dataset(parcels: int, plans: bool) -> Path:
    path = VAR / f"parcels-{parcels // 1000}k{'-plans' if plans else ''}.gpkg"
    if not path.exists():
        say(f"== generating {parcels:,} parcels into {path.name}")
        timed([PY, "fixtures/generate.py", "--parcels", str(parcels), "--out", str(path)]
              + (["--plans"] if plans else []))
    return path


def start_ogc_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    import requests

    port = free_port()
    process = subprocess.Popen([PY, "-m", "fixtures.ogcserver", "--port", str(port), "--data",
                                str(data), "--workdir", str(VAR / "mapserver")],
                               cwd=ROOT, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return process, f"http://127.0.0.1:{port}/lovkarta"
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("the OGC server did not start")


def bench_sync(page_size: int, parcels: int, repeat: int) -> list[dict[str, Any]]:
    """Time each tool on the same service, taking turns (the machine's load drifts)."""
    data = dataset(parcels, plans=False)
    server, url = start_ogc_server(data)
    env = {"DATABASE_URL": DATABASE_URL}
    rows: list[dict[str, Any]] = []
    references = {
        "wfs": (["ogr2ogr", "-f", "PostgreSQL", PG_OGR,
                 f"WFS:{url}?SERVICE=WFS&VERSION=2.0.0", "registerenhetsomradesytor",
                 "-nln", "ref_wfs", "-overwrite", "-lco", "GEOMETRY_NAME=geom",
                 "--config", "OGR_WFS_PAGE_SIZE", str(page_size),
                 "--config", "OGR_WFS_PAGING_ALLOWED", "ON",
                 "--config", "GML_CONSIDER_EPSG_AS_URN", "YES"], "ref_wfs"),
        "ogcapi-features": (["ogr2ogr", "-f", "PostgreSQL", PG_OGR,
                             f"OAPIF:{url}/ogcapi", "registerenhetsomradesytor",
                             "-oo", f"PAGE_SIZE={page_size}", "-nln", "ref_oapif",
                             "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-t_srs",
                             "EPSG:3006"], "ref_oapif"),
    }
    try:
        for protocol, source_url in (("wfs", url), ("ogcapi-features", f"{url}/ogcapi")):
            name = f"bench-{protocol}"
            timed([PY, "manage.py", "geodata_source", "add", name, "--protocol", protocol,
                   "--url", source_url, "--layer", "registerenhetsomradesytor", "--holds",
                   "parcels", "--municipality", "2281", "--page-size", str(page_size)], env)
            for run in range(1, repeat + 1):
                # A first load each time: the cache table starts empty, as ogr2ogr's does.
                psql("TRUNCATE geodata_parcel CASCADE", DB)
                say(f"== run {run}: Lovkarta sync over {protocol}")
                seconds, peak, out = timed([PY, "manage.py", "geodata_sync", name], env)
                count = int(psql(f"SELECT count(*) FROM geodata_parcel p JOIN geodata_source s"
                                 f" ON s.id = p.source_id WHERE s.name = '{name}'", DB))
                say("   " + out.strip().splitlines()[-1])
                rows.append({"tool": "Lovkarta geodata_sync", "protocol": protocol,
                             "run": run, "features": count, "seconds": seconds,
                             "peak_mb": peak})
                cmd, table = references[protocol]
                say(f"== run {run}: ogr2ogr over {protocol}")
                seconds, peak, _out = timed(cmd)
                count = int(psql(f"SELECT count(*) FROM {table}", DB))
                rows.append({"tool": "ogr2ogr (GDAL)", "protocol": protocol, "run": run,
                             "features": count, "seconds": seconds, "peak_mb": peak})
    finally:
        server.terminate()
    for row in rows:
        row["features_per_s"] = round(int(row["features"]) / float(row["seconds"]))
    return rows


def sync_summary(rows: list[dict[str, Any]]) -> list[str]:
    """Each protocol's best run of each tool, our speed as a multiple of ogr2ogr's, and
    the multiple of each pair of runs (measured back to back, so the machine's drift
    affects both alike). Met when both the best-of and the median pair say so."""
    lines = []
    for protocol in dict.fromkeys(str(r["protocol"]) for r in rows):
        best, runs = {}, {}
        for tool in ("Lovkarta geodata_sync", "ogr2ogr (GDAL)"):
            runs[tool] = {r["run"]: r for r in rows
                          if r["protocol"] == protocol and r["tool"] == tool}
            best[tool] = min(runs[tool].values(), key=lambda r: float(r["seconds"]))
        ours, ref = best["Lovkarta geodata_sync"], best["ogr2ogr (GDAL)"]
        ratio = float(ref["seconds"]) / float(ours["seconds"])
        pairs = [float(runs["ogr2ogr (GDAL)"][n]["seconds"]) / float(mine["seconds"])
                 for n, mine in sorted(runs["Lovkarta geodata_sync"].items())
                 if n in runs["ogr2ogr (GDAL)"]]
        median = statistics.median(pairs)
        peak = max(float(r["peak_mb"]) for r in runs["Lovkarta geodata_sync"].values())
        met = ratio >= 1 and median >= 1
        lines.append(f"{protocol:16} best of each: Lovkarta {ours['features_per_s']} f/s, "
                     f"ogr2ogr {ref['features_per_s']} f/s: {ratio:.2f}x; run by run "
                     f"{', '.join(f'{p:.2f}x' for p in pairs)} (median {median:.2f}x) "
                     f"({'met' if met else 'NOT MET'}: at least as fast); peak "
                     f"{peak:.0f} MB ({'met' if peak < 500 else 'NOT MET'}: under 500 MB)")
    return lines


def load_million(parcels: int) -> tuple[float, float, float, float]:
    """Load the big dataset straight into the cache tables; return its extent."""
    data = dataset(parcels, plans=True)
    say(f"== loading {data.name} into the cache tables")
    for layer in ("registerenhetsomradesytor", "detaljplan", "planbestammelse"):
        timed(["ogr2ogr", "-f", "PostgreSQL", PG_OGR, str(data), layer, "-nln",
               f"raw_{layer}", "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco",
               "SPATIAL_INDEX=NONE", "-nlt", "MULTIPOLYGON", "--config", "PG_USE_COPY", "YES"])
    sources = {holds: f"bench-1m-{holds}" for holds in ("parcels", "plans", "regulations")}
    for holds, name in sources.items():
        psql(f"INSERT INTO geodata_source (name, protocol, version, url, layer, crs, holds, "
             f"preset, page_size, enabled, auth, credentials_env, consecutive_failures, filter, "
             f"service_info) "
             f"VALUES ('{name}', 'wfs', '2.0.0', 'http://127.0.0.1/x', 'x', 'EPSG:3006', "
             f"'{holds}', 'lantmateriet', 1000, false, 'none', '', 0, '', '{{}}')", DB)
        psql(f"INSERT INTO geodata_syncrun (source_id, started_at, finished_at, outcome, "
             f"fetched, added, changed, removed, rejected, repaired, source_version, error, "
             f"rejections, repairs, server_count_exact) SELECT id, now(), now(), 'succeeded', "
             f"0, 0, 0, 0, 0, 0, '', '', '', '', false FROM geodata_source WHERE name = "
             f"'{name}'", DB)
    psql("INSERT INTO geodata_parcel (objektidentitet, source_id, synced_at, content_hash, "
         "registerenhetsreferens, objekttyp, kommunkod, kommunnamn, trakt, block, enhet, "
         "omradesnummer, etikett, beteckning, kort_beteckning, senastandrad, geom) "
         "SELECT objektidentitet::uuid, (SELECT id FROM geodata_source WHERE name = "
         "'bench-1m-parcels'), now(), '', registerenhetsreferens::uuid, objekttyp, kommunkod, "
         "kommunnamn, trakt, block, enhet, omradesnummer, etikett, upper(kommunnamn || ' ' || "
         "trakt || ' ' || CASE WHEN block = '' THEN enhet ELSE block || ':' || enhet END), "
         "trakt || ' ' || CASE WHEN block = '' THEN enhet ELSE block || ':' || enhet END, "
         "senastandrad::date, geom FROM raw_registerenhetsomradesytor", DB)
    psql("INSERT INTO geodata_plan (objektidentitet, source_id, synced_at, content_hash, kommun,"
         " beteckning, namn, syfte, status, typ, genomforandetid, geom) SELECT "
         "objektidentitet::uuid, (SELECT id FROM geodata_source WHERE name = 'bench-1m-plans'),"
         " now(), '', kommun, beteckning, namn, syfte, status, typ, genomforandetid, geom "
         "FROM raw_detaljplan", DB)
    psql("INSERT INTO geodata_regulation (objektidentitet, source_id, synced_at, content_hash,"
         " plan_objektidentitet, bestammelsekod, bestammelsetyp, anvandningsform, kategori, "
         "underkategori, beteckning, bestammelseformulering, varde, geometrityp, geom) SELECT "
         "objektidentitet::uuid, (SELECT id FROM geodata_source WHERE name = "
         "'bench-1m-regulations'), now(), '', plan_objektidentitet::uuid, bestammelsekod, "
         "bestammelsetyp, anvandningsform, kategori, '', beteckning, bestammelseformulering, "
         "varde, geometrityp, geom FROM raw_planbestammelse", DB)
    psql("ANALYZE", DB)
    extent = psql("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                  "(SELECT ST_Extent(geom) e FROM raw_registerenhetsomradesytor) x", DB)
    x0, y0, x1, y1 = (float(v) for v in extent.split("|"))
    return x0, y0, x1, y1


BARE_PARCEL = ("SELECT id, beteckning, objektidentitet, ST_Area(geom) FROM geodata_parcel "
               "WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 3006)) "
               "ORDER BY omradesnummer DESC, objektidentitet LIMIT 1")
BARE_PLANS = ("SELECT id, beteckning, status FROM geodata_plan WHERE ST_Intersects(geom, "
              "(SELECT geom FROM geodata_parcel WHERE id = %s))")
BARE_REGS = ("SELECT r.id, r.beteckning, ST_Area(ST_Intersection(r.geom, p.geom)) FROM "
             "geodata_regulation r, geodata_parcel p WHERE p.id = %s AND "
             "ST_Intersects(r.geom, p.geom)")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000)


def bench_queries(parcels: int, n: int, extent: tuple[float, float, float, float] | None = None
                  ) -> list[dict[str, object]]:
    import psycopg
    import requests

    extent = extent or load_million(parcels)
    rng = random.Random(2281)
    points = [(rng.uniform(extent[0], extent[2]), rng.uniform(extent[1], extent[3]))
              for _ in range(n)]
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.gis.geos import Point

    from geodata.selectors import detail_report, parcel_at

    timings: dict[str, list[float]] = {k: [] for k in (
        "ours_at", "bare_at", "ours_report", "bare_report", "http_at", "http_report")}
    with psycopg.connect(f"host={PG['host']} port={PG['port']} user={PG['user']} "
                         f"dbname={DB} options='-c jit=off'", prepare_threshold=0) as conn:
        for x, y in points[:50]:  # warm caches and prepared plans on both sides
            parcel_at(x, y)
            conn.execute(BARE_PARCEL, (x, y)).fetchone()
        for x, y in points:
            t = time.perf_counter()
            parcel_at(x, y)
            timings["ours_at"].append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.execute(BARE_PARCEL, (x, y)).fetchone()
            timings["bare_at"].append(time.perf_counter() - t)
            t = time.perf_counter()
            detail_report(Point(x, y, srid=3006))
            timings["ours_report"].append(time.perf_counter() - t)
            t = time.perf_counter()
            row = conn.execute(BARE_PARCEL, (x, y)).fetchone()
            if row:
                conn.execute(BARE_PLANS, (row[0],)).fetchall()
                conn.execute(BARE_REGS, (row[0],)).fetchall()
            timings["bare_report"].append(time.perf_counter() - t)
    port = free_port()
    server = subprocess.Popen([str(Path(PY).parent / "gunicorn"), "config.wsgi", "-w", "2",
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT,
                              env={**os.environ, "LOVKARTA_DEBUG": "false",
                                   "SECRET_KEY": "bench", "ALLOWED_HOSTS": "127.0.0.1"})
    try:
        session = requests.Session()
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            try:
                session.get(f"{base}/openapi.json", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        for x, y in points[:50]:
            session.get(f"{base}/parcels/at", params={"x": x, "y": y}, timeout=10)
        statuses: dict[int, int] = {}
        for x, y in points:
            t = time.perf_counter()
            r1 = session.get(f"{base}/parcels/at", params={"x": x, "y": y}, timeout=10)
            timings["http_at"].append(time.perf_counter() - t)
            t = time.perf_counter()
            r2 = session.get(f"{base}/detail-report", params={"x": x, "y": y}, timeout=10)
            timings["http_report"].append(time.perf_counter() - t)
            for r in (r1, r2):
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if set(statuses) - {200, 404}:
            raise SystemExit(f"the HTTP API answered {statuses}: not a valid measurement")
        say(f"   HTTP answers: {statuses}")
    finally:
        server.terminate()
    rows = []
    for label, ours, bare, http in (("parcel at point", "ours_at", "bare_at", "http_at"),
                                    ("detail report", "ours_report", "bare_report",
                                     "http_report")):
        o50, o95 = percentiles(timings[ours])
        b50, b95 = percentiles(timings[bare])
        h50, h95 = percentiles(timings[http])
        rows.append({"query": label, "points": n, "ours_p50_ms": o50, "ours_p95_ms": o95,
                     "bare_sql_p50_ms": b50, "bare_sql_p95_ms": b95, "p95_ratio": o95 / b95,
                     "http_p50_ms": h50, "http_p95_ms": h95})
    return rows


def print_sync(rows: list[dict[str, Any]], page_size: int) -> None:
    say(f"\nSync into PostGIS from the local MapServer, pages of {page_size}")
    say(f"{'tool':24} {'protocol':16} {'run':>3} {'features':>9} {'seconds':>8} "
        f"{'feat/s':>8} {'peak MB':>8}")
    for r in rows:
        say(f"{r['tool']:24} {r['protocol']:16} {r['run']:>3} {r['features']:>9} "
            f"{r['seconds']:8.1f} {r['features_per_s']:>8} {r['peak_mb']:8.0f}")
    for line in sync_summary(rows):
        say(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync-parcels", type=int, default=100_000)
    parser.add_argument("--query-parcels", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=10_000)
    parser.add_argument("--only", choices=["sync", "query", "exports", "ogcapi", "tiles",
                                           "checks", "load"])
    parser.add_argument("--boxes", type=int, default=200,
                        help="2 km boxes asked of each OGC API server (default 200)")
    parser.add_argument("--load-seconds", type=int, default=60,
                        help="seconds of each step of the load test (default 60)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each sync tool, taking turns (default 3)")
    args = parser.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    fresh_database()
    results: dict[str, object] = {}
    # Each part is printed and saved as soon as it is measured.
    if args.only in (None, "sync"):
        results["sync"] = bench_sync(args.page_size, args.sync_parcels, args.repeat)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
        print_sync(results["sync"], args.page_size)  # type: ignore[arg-type]
    big = ("query", "exports", "ogcapi", "tiles", "checks")
    extent = load_million(args.query_parcels) if args.only in (None, *big) else None
    if args.only in (None, "query"):
        results["queries"] = bench_queries(args.query_parcels, args.points, extent)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if args.only in (None, "exports"):
        import exports

        count = int(psql("SELECT count(*) FROM geodata_parcel", DB))
        results["exports"] = exports.bench_exports_in(DB, DATABASE_URL, count, "EPSG:3006",
                                                      min(args.repeat, 3), ("gpkg", "fgb"))
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if args.only in (None, "ogcapi"):
        import ogcapi

        results["ogcapi"] = ogcapi.bench_ogcapi(DB, DATABASE_URL, args.boxes)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if args.only in (None, "tiles", "checks"):
        import review_data

        # 100,000 cases (and a building on each parcel in town) beside the million parcels.
        review = review_data.prepare_review_data(DB, buildings=True)
    if args.only in (None, "tiles"):
        import review_tiles

        results["tiles"] = review_tiles.bench_tiles(review.db, review.database_url, args.boxes)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if args.only in (None, "checks"):
        import review_checks

        # After the tiles: the re-check changes plans and writes checks.
        results["checks"] = review_checks.bench_checks(review.db, review.database_url)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if args.only in (None, "load"):
        import load

        # A production stack of its own, on a database of its own (lovkarta_bench_load).
        results["load"] = load.bench_load(seconds=args.load_seconds)
        (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if "sync" in results and "queries" in results:
        print_sync(results["sync"], args.page_size)  # type: ignore[arg-type]
    if "queries" in results:
        say(f"\nQueries at {args.query_parcels:,} parcels on PostGIS, {args.points} points (ms)")
        say(f"{'query':16} {'ours p50':>9} {'ours p95':>9} {'SQL p50':>8} {'SQL p95':>8} "
            f"{'ratio':>6} {'HTTP p50':>9} {'HTTP p95':>9}")
        for r in results["queries"]:  # type: ignore[attr-defined]
            say(f"{r['query']:16} {r['ours_p50_ms']:9.2f} {r['ours_p95_ms']:9.2f} "
                f"{r['bare_sql_p50_ms']:8.2f} {r['bare_sql_p95_ms']:8.2f} {r['p95_ratio']:6.2f} "
                f"{r['http_p50_ms']:9.2f} {r['http_p95_ms']:9.2f}")
    if "exports" in results:
        import exports

        exports.print_exports(results["exports"],  # type: ignore[arg-type]
                              f"Export of {args.query_parcels:,} parcels (PostGIS) in "
                              "EPSG:3006, ours against ogr2ogr")
    if "ogcapi" in results:
        import ogcapi

        say(f"\nOGC API items at {args.query_parcels:,} parcels, {args.boxes} boxes")
        for line in ogcapi.summary(results["ogcapi"]):  # type: ignore[arg-type]
            say(line)
    if "tiles" in results:
        import review_tiles

        review_tiles.print_tiles(results["tiles"])  # type: ignore[arg-type]
    if "checks" in results:
        import review_checks

        review_checks.print_checks(results["checks"])  # type: ignore[arg-type]
    if "load" in results:
        import load

        load.print_load(results["load"])  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
