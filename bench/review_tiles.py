"""Benchmark of the review map's tiles at ~1,000,000 parcels and 100,000 cases (PostGIS).

For each of ``n`` tiles of zoom 14 and of zoom 16 in town (seeded: tiles holding cases
on parcels inside detailed plans, so the dense parts), taking turns on each tile:

- ours, in-process: what the two views the review map asks at that zoom call:
  ``permits.selectors.review.case_tile`` (the officer's cases with a queue filter,
  ``case_queue`` scoping included) and ``geodata.tiles.tile_mvt`` of the cache layers
  whose minimum zoom the tile reaches (z14: parcels, plans, regulations; z16: and
  buildings), which the map asks for together (``/api/v1/tiles/all/...``);
- ours over HTTP: the same two tiles through Django's test client (the whole view: login
  session, form, scoping, entity tag, response);
- bare SQL: one ``ST_AsMVT`` statement through psycopg building the same layers of the
  same tile (same rows, properties, clipping and buffer), prepared, on a connection
  without JIT (as Django's): the reference of the target;
- bare SQL per request: the same layers in two statements (the cases', the cache
  layers'), as the map asks, to tell the cost of our code from that of two requests.

A tile's time is the sum of its two requests (statements for the bare SQL per request).
Target (issue #11): ours p95 at most 1.5x the bare SQL's p95, at each zoom. The first
tiles warm caches on every side and are not counted; the first few are decoded on both
sides and must hold the same features.

Runnable alone: ``LOVKARTA_BENCH_DB=lovkarta_bench_tiles .venv/bin/python
bench/review_tiles.py [--tiles 200]`` (prepares the database with bench/review_data.py
if needed).
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PG, percentiles, psql, say  # noqa: E402

ZOOMS = (14, 16)
WARM = 20
CHECKED = 5  # tiles whose contents are compared, ours against the bare SQL
# The queue filter the officer has set on the map (as a query string).
QUEUE_QUERY = "queue=all&case_type=BL"
TARGET = 1.5

_OPEN = "('submitted', 'incomplete', 'complete', 'review', 'hearing', 'proposed')"
_ENV = ("ST_TileEnvelope(%(z)s, %(x)s, %(y)s)", "ST_Transform(ST_TileEnvelope(%(z)s, "
        "%(x)s, %(y)s, margin => %(margin)s), 3006)")


def _layer(name: str, table: str, geom: str, columns: str, where: str = "") -> str:
    env, box = _ENV
    return (f"(SELECT COALESCE(ST_AsMVT(t, '{name}', 4096, 'geom'), ''::bytea) FROM "
            f"(SELECT ST_AsMVTGeom(ST_Transform({geom}, 3857), {env}, 4096, 64, true) AS geom,"
            f" {columns} FROM {table} WHERE {geom} && {box}{where}) t "
            "WHERE t.geom IS NOT NULL)")


# The properties exactly as ours (permits.selectors.review, geodata.tiles.CACHE_LAYERS).
_CASE_WHERE = (" AND a.status <> 'draft' AND a.municipality_id = ANY(%(municipalities)s) "
               "AND a.case_type = %(case_type)s")
_BAND = (f"CASE WHEN a.status NOT IN {_OPEN} THEN 'closed' WHEN a.deadline < %(today)s "
         "THEN 'overdue' WHEN a.deadline <= %(soon)s THEN 'soon' ELSE 'open' END AS band")
BARE_LAYERS = {
    "cases": _layer(
        "cases", "permits_application a", "a.location",
        "a.id, a.case_number, a.status, a.case_type, " + _BAND + ", "
        f"(a.status IN {_OPEN} AND a.deadline < %(today)s) IS TRUE AS overdue, "
        f"CASE WHEN a.status IN {_OPEN} THEN a.deadline - %(today)s END AS days_left",
        _CASE_WHERE),
    "case_sites": _layer("case_sites", "permits_application a", "a.site",
                         "a.id, a.case_number, " + _BAND, _CASE_WHERE),
    "parcels": _layer("parcels", "geodata_parcel", "geom",
                      "objektidentitet, beteckning, omradesnummer, kommunkod"),
    "plans": _layer("plans", "geodata_plan", "geom",
                    "objektidentitet, beteckning, namn, status"),
    "regulations": _layer("regulations", "geodata_regulation", "geom",
                          "beteckning, bestammelsekod, anvandningsform, kategori"),
    "buildings": _layer("buildings", "geodata_building", "geom",
                        "huvudandamal, objektstatus"),
}


def town_tiles(db: str, zoom: int, n: int) -> list[tuple[int, int, int]]:
    """Return ``n`` distinct seeded tiles of ``zoom`` holding cases in town (repeating
    when town has fewer)."""
    rows = psql("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(a.location, 4326) p FROM "
                "permits_application a WHERE a.location IS NOT NULL AND EXISTS (SELECT 1 "
                "FROM geodata_plan pl WHERE pl.geom && a.location AND ST_Intersects(pl.geom, "
                "a.location)) ORDER BY md5(a.id::text) LIMIT 20000) x", db).splitlines()
    from geodata.tiles import lonlat_tile

    seen: dict[tuple[int, int, int], None] = {}
    for row in rows:
        lon, lat = (float(v) for v in row.split("|"))
        tile = lonlat_tile(lon, lat, zoom)
        seen[(tile.z, tile.x, tile.y)] = None
    tiles = list(seen)
    random.Random(2281).shuffle(tiles)
    return [tiles[i % len(tiles)] for i in range(n)]


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    hosts = os.environ.get("ALLOWED_HOSTS", "")
    os.environ["ALLOWED_HOSTS"] = ",".join(filter(None, [hosts, "testserver", "127.0.0.1"]))
    import django

    django.setup()


def _layers_at(zoom: int) -> list[str]:
    from geodata.tiles import CACHE_LAYERS
    from permits.selectors.review import CASE_SITES_MIN_ZOOM

    cases = ["cases", *(["case_sites"] if zoom >= CASE_SITES_MIN_ZOOM else [])]
    return cases + [name for name, spec in CACHE_LAYERS.items() if zoom >= spec.min_zoom]


def _same_tile(ours: list[bytes], bare: bytes, where: str) -> int:
    """Stop unless ours and the bare SQL hold the same features; return how many."""
    import mapbox_vector_tile

    mine: dict[str, list[Any]] = {}
    for data in ours:
        for name, layer in mapbox_vector_tile.decode(data).items():
            mine.setdefault(name, []).extend(layer["features"])
    theirs = {name: layer["features"] for name, layer in
              mapbox_vector_tile.decode(bare).items()} if bare else {}

    def key(feature: dict[str, Any]) -> str:
        return repr(sorted(feature["properties"].items()))

    for name in set(mine) | set(theirs):
        a = sorted(key(f) for f in mine.get(name, []))
        b = sorted(key(f) for f in theirs.get(name, []))
        if a != b:
            raise SystemExit(f"ours and the bare SQL differ in layer {name} of {where}: "
                             f"{len(a)} against {len(b)} features")
    return sum(len(v) for v in mine.values())


def _run(key: str, run: dict[str, Any]) -> Any:
    """Make one tile one way: ours in-process, the bare SQL (in one statement or one per
    request) or ours over HTTP."""
    from geodata.tiles import cache_tile_layer, tile_mvt
    from permits.selectors.review import case_tile

    tile = run["tile"]
    if key == "ours":
        return [case_tile(user=run["officer"], filters=run["filters"], today=run["today"],
                          tile=tile),
                tile_mvt(tile, [cache_tile_layer(name) for name in run["cache"]])]
    if key == "bare":
        return bytes(run["conn"].execute(run["bare_sql"], run["args"]).fetchone()[0])
    if key == "bare_layers":
        return [run["conn"].execute(sql, run["args"]).fetchone() for sql in run["per_request"]]
    return [run["client"].get(f"/handlaggare/karta/arenden/{tile.z}/{tile.x}/{tile.y}.pbf?"
                              f"{run['query']}"),
            run["client"].get(f"/api/v1/tiles/all/{tile.z}/{tile.x}/{tile.y}.pbf")]


def bench_tiles(db: str, database_url: str, n: int = 200,
                query: str = QUEUE_QUERY) -> list[dict[str, Any]]:
    """Time ours (in-process and over HTTP) and the bare SQL on the same tiles, taking
    turns; return one row per zoom."""
    import psycopg

    _setup_django(database_url)
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.http import QueryDict
    from django.test import Client
    from review_data import OFFICER

    from geodata.tiles import CACHE_LAYERS, Tile
    from permits.forms.officer import QueueForm
    from permits.selectors.casework import roles_by_municipality
    from permits.selectors.review import SOON_DAYS
    from permits.services import clock as service_clock

    officer = get_user_model().objects.get(username=OFFICER)
    # make bench sets Django up before this part, with its own hosts: the test client's
    # host is added here (else every answer is a 400).
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(officer)
    filters = QueueForm(QueryDict(query)).filters()
    today = service_clock.today()
    params: dict[str, Any] = {
        "margin": 64 / 4096, "today": today, "soon": today + timedelta(days=SOON_DAYS),
        "municipalities": list(roles_by_municipality(officer)),
        "case_type": filters.case_type}
    rows = []
    with psycopg.connect(f"host={PG['host']} port={PG['port']} user={PG['user']} "
                         f"dbname={db} options='-c jit=off'", prepare_threshold=0) as conn:
        for zoom in ZOOMS:
            layers = _layers_at(zoom)
            bare_sql = "SELECT " + " || ".join(BARE_LAYERS[name] for name in layers)
            cache = [name for name in layers if name in CACHE_LAYERS]
            timings: dict[str, list[float]] = {"ours": [], "http": [], "bare": [],
                                               "bare_layers": []}
            per_request = ["SELECT " + " || ".join(BARE_LAYERS[name] for name in group)
                           for group in ([n for n in layers if n not in cache], cache)]
            sizes, features, statuses = [], 0, {}
            for i, (z, x, y) in enumerate(town_tiles(db, zoom, n + WARM)):
                tile = Tile(z, x, y)
                args = {**params, "z": z, "x": x, "y": y}
                run = {"tile": tile, "args": args, "officer": officer, "filters": filters,
                       "today": today, "cache": cache, "conn": conn, "bare_sql": bare_sql,
                       "per_request": per_request, "client": client, "query": query}
                # Taking turns in a rotating order: whoever reads a tile first finds it
                # colder in the database's buffers.
                keys = ["ours", "bare", "bare_layers", "http"]
                got, elapsed = {}, {}
                for key in keys[i % 4:] + keys[:i % 4]:
                    t = time.perf_counter()
                    got[key] = _run(key, run)
                    elapsed[key] = time.perf_counter() - t
                ours, bare, answers = got["ours"], got["bare"], got["http"]
                for answer in answers:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if i < CHECKED:
                    features += _same_tile(ours, bare, f"tile {z}/{x}/{y}")
                if i >= WARM:
                    for key, seconds in elapsed.items():
                        timings[key].append(seconds)
                    sizes.append(sum(len(d) for d in ours))
            if set(statuses) - {200, 204}:
                raise SystemExit(f"the tile views answered {statuses}: not a measurement")
            row: dict[str, Any] = {"zoom": zoom, "tiles": n, "layers": layers,
                                   "query": query, "mean_kb": sum(sizes) / len(sizes) / 1024,
                                   "checked_features": features}
            for key, samples in timings.items():
                row[f"{key}_p50_ms"], row[f"{key}_p95_ms"] = percentiles(samples)
            row["p95_ratio"] = row["ours_p95_ms"] / row["bare_p95_ms"]
            row["http_p95_ratio"] = row["http_p95_ms"] / row["bare_p95_ms"]
            row["p95_ratio_to_layers"] = row["ours_p95_ms"] / row["bare_layers_p95_ms"]
            row["met"] = row["p95_ratio"] <= TARGET
            rows.append(row)
    return rows


def print_tiles(rows: list[dict[str, Any]]) -> None:
    say("\nReview-map tiles in town at ~1,000,000 parcels and 100,000 cases (ms per tile, "
        "all its layers)")
    say(f"{'zoom':>4} {'tiles':>5} {'ours p50':>9} {'ours p95':>9} {'HTTP p50':>9} "
        f"{'HTTP p95':>9} {'SQL p50':>8} {'SQL p95':>8} {'SQL/req. p50':>14} "
        f"{'SQL/req. p95':>14} {'kB':>6}  layers")
    for r in rows:
        say(f"{r['zoom']:>4} {r['tiles']:>5} {r['ours_p50_ms']:9.1f} {r['ours_p95_ms']:9.1f} "
            f"{r['http_p50_ms']:9.1f} {r['http_p95_ms']:9.1f} {r['bare_p50_ms']:8.1f} "
            f"{r['bare_p95_ms']:8.1f} {r['bare_layers_p50_ms']:14.1f} "
            f"{r['bare_layers_p95_ms']:14.1f} {r['mean_kb']:6.1f}  {', '.join(r['layers'])}")
    for r in rows:
        say(f"z{r['zoom']} p95 ours / bare ST_AsMVT: {r['p95_ratio']:.2f}x "
            f"({'met' if r['met'] else 'NOT MET'}: at most {TARGET}x); over HTTP "
            f"{r['http_p95_ratio']:.2f}x; ours / bare SQL a statement per request: "
            f"{r['p95_ratio_to_layers']:.2f}x; cases filtered by {r['query']}")


if __name__ == "__main__":
    import argparse
    import json

    from review_data import prepare_review_data
    from run import DB, VAR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=200, help="tiles per zoom (default 200)")
    parser.add_argument("--query", default=QUEUE_QUERY, help="the queue filter of the map")
    args = parser.parse_args()
    data = prepare_review_data(DB, buildings=True)
    out = bench_tiles(data.db, data.database_url, args.tiles, args.query)
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "review_tiles.json").write_text(json.dumps(out, indent=2, default=str))
    print_tiles(out)
    sys.exit(0)
