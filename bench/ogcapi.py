"""Benchmark of OGC API - Features items at ~1,000,000 parcels: ours, bare SQL, pygeoapi.

Pages of 1,000 features in random 2 km boxes in town (centred on detailed plans), asked
with ``crs`` and ``bbox-crs`` EPSG:3006, taking turns for each box:

- ours: ``/ogc/collections/parcels/items`` through gunicorn (two workers) on 127.0.0.1;
- bare SQL: one query through psycopg that builds the same page (the count of what the
  box holds and the features as GeoJSON text, northing first, 1 mm) with ``json_agg``,
  on a connection without JIT or parallel workers (as ours runs it);
- pygeoapi 0.21 with its own PostgreSQL provider on the same table, configured as its
  documentation says (``storage_crs`` EPSG:3006, the same properties), served by gunicorn
  (``pygeoapi.flask_app:APP``, two workers) on 127.0.0.1.

Targets (the issue): ours p95 at most 2x the bare SQL's; features/s at least 1.5x
pygeoapi's. Called by bench/run.py after the 1,000,000 parcels are loaded.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import PG, PY, ROOT, free_port, percentiles, psql, say

EPSG_3006 = "http://www.opengis.net/def/crs/EPSG/0/3006"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
LIMIT = 1000
SIDE = 2000.0  # metres
# The parcels collection's published fields (geodata/publish/cache.py), in its order.
FIELDS = ("beteckning", "objektidentitet", "registerenhetsreferens", "objekttyp", "kommunkod",
          "kommunnamn", "trakt", "block", "enhet", "omradesnummer", "etikett", "senastandrad")
_PROPS = ", ".join(f"'{f}', {f}" for f in FIELDS)
BARE_ITEMS = (
    "WITH box AS (SELECT ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3006) AS g), "
    "page AS (SELECT p.* FROM geodata_parcel p, box WHERE ST_Intersects(p.geom, box.g) "
    f"ORDER BY p.id LIMIT {LIMIT}) "
    "SELECT (SELECT count(*) FROM geodata_parcel p, box WHERE ST_Intersects(p.geom, box.g)), "
    "count(*), json_agg(json_build_object('type', 'Feature', 'id', objektidentitet, "
    "'geometry', ST_AsGeoJSON(ST_FlipCoordinates(geom), 3)::json, "
    f"'properties', json_build_object({_PROPS})))::text FROM page")

PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png", attribution: none}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: Lovkarta bench, description: bench, keywords: [parcels],
                   keywords_type: theme, terms_of_service: none, url: http://127.0.0.1}}
  license: {{name: CC0, url: http://127.0.0.1}}
  provider: {{name: Lovkarta, url: http://127.0.0.1}}
  contact: {{name: x, position: x, address: x, city: x, stateorprovince: x, postalcode: x,
            country: x, phone: x, fax: x, email: x, url: x, hours: x, instructions: x,
            role: pointOfContact}}
resources:
  parcels:
    type: collection
    title: Parcels
    description: The parcel cache
    keywords: [parcels]
    extents:
      spatial: {{bbox: [16.0, 61.0, 19.0, 64.0], crs: "{crs84}"}}
    providers:
      - type: feature
        name: PostgreSQL
        data:
          host: {host}
          port: {pg_port}
          dbname: {db}
          user: {user}
          search_path: [public]
        id_field: objektidentitet
        table: geodata_parcel
        geom_field: geom
        storage_crs: {epsg3006}
        crs: ["{crs84}", "{epsg3006}"]
        properties: [{properties}]
"""


def town_boxes(db: str, n: int) -> list[tuple[float, float, float, float]]:
    """Return ``n`` seeded 2 km boxes (x0, y0, x1, y1) centred on detailed plans."""
    rows = psql("SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM geodata_plan "
                "ORDER BY id", db).splitlines()
    centres = [tuple(float(v) for v in row.split("|")) for row in rows]
    rng = random.Random(2281)
    boxes = []
    for _ in range(n):
        x, y = rng.choice(centres)
        x, y = x + rng.uniform(-500, 500), y + rng.uniform(-500, 500)
        boxes.append((x - SIDE / 2, y - SIDE / 2, x + SIDE / 2, y + SIDE / 2))
    return boxes


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server answers; stop it and give up if it does not."""
    try:
        _answers(url, process)
    except BaseException:
        process.terminate()
        raise


def _answers(url: str, process: subprocess.Popen[bytes]) -> None:
    import requests

    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"the server for {url} exited")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def start_ours(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [str(Path(PY).parent / "gunicorn"), "config.wsgi", "-w", "2", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "LOVKARTA_DEBUG": "false",
             "SECRET_KEY": "bench", "ALLOWED_HOSTS": "127.0.0.1"})
    base = f"http://127.0.0.1:{port}/ogc"
    _wait(f"{base}/collections?f=json", server)
    return server, base


def start_pygeoapi(db: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = work / "pygeoapi-config.yml"
    config.write_text(PYGEOAPI_CONFIG.format(
        port=port, host=PG["host"], pg_port=PG["port"], db=db, user=PG["user"],
        crs84=CRS84, epsg3006=EPSG_3006, properties=", ".join(FIELDS)))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config),
           "PYGEOAPI_OPENAPI": str(work / "pygeoapi-openapi.yml")}
    env.pop("DATABASE_URL", None)
    bindir = Path(PY).parent
    subprocess.run([str(bindir / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", env["PYGEOAPI_OPENAPI"]], env=env, check=True,
                   capture_output=True)
    server = subprocess.Popen([str(bindir / "gunicorn"), "pygeoapi.flask_app:APP", "-w", "2",
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
                              env=env, cwd=work)
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/collections?f=json", server)
    return server, base


def bench_ogcapi(db: str, database_url: str, n: int) -> dict[str, Any]:
    """Time ours, the bare SQL and pygeoapi on the same boxes, taking turns."""
    import psycopg
    import requests

    boxes = town_boxes(db, n + 20)
    timings: dict[str, list[float]] = {"ours": [], "bare": [], "pygeoapi": []}
    returned: dict[str, int] = {k: 0 for k in timings}
    mismatches = 0
    with tempfile.TemporaryDirectory(prefix="lovkarta-bench-ogc-") as tmp:
        ours, ours_url = start_ours(database_url)
        ref, ref_url = start_pygeoapi(db, Path(tmp))
        try:
            session = requests.Session()
            # The bare SQL gets what ours sets: no JIT, no parallel worker for a page.
            with psycopg.connect(f"host={PG['host']} port={PG['port']} user={PG['user']} "
                                 f"dbname={db} options='-c jit=off "
                                 "-c max_parallel_workers_per_gather=0'",
                                 prepare_threshold=0) as conn:
                for i, (x0, y0, x1, y1) in enumerate(boxes):
                    warm = i < 20  # the first boxes warm caches and workers on every side
                    # Ours speaks EPSG:3006 in its own axis order (northing first).
                    params = {"limit": LIMIT, "f": "json", "crs": EPSG_3006,
                              "bbox-crs": EPSG_3006, "bbox": f"{y0},{x0},{y1},{x1}"}
                    t = time.perf_counter()
                    r = session.get(f"{ours_url}/collections/parcels/items", params=params,
                                    timeout=60)
                    elapsed = time.perf_counter() - t  # the body read, not yet parsed
                    r.raise_for_status()
                    mine = r.json()
                    if not warm:
                        timings["ours"].append(elapsed)
                        returned["ours"] += mine["numberReturned"]
                    t = time.perf_counter()
                    matched, count, text = conn.execute(
                        BARE_ITEMS, {"x0": x0, "y0": y0, "x1": x1, "y1": y1}).fetchone()
                    elapsed = time.perf_counter() - t
                    if not warm:
                        timings["bare"].append(elapsed)
                        returned["bare"] += count
                    # pygeoapi reads a bbox in its storage CRS easting first.
                    params = {**params, "bbox": f"{x0},{y0},{x1},{y1}"}
                    t = time.perf_counter()
                    r = session.get(f"{ref_url}/collections/parcels/items", params=params,
                                    timeout=60)
                    elapsed = time.perf_counter() - t
                    r.raise_for_status()
                    theirs = r.json()
                    if not warm:
                        timings["pygeoapi"].append(elapsed)
                        returned["pygeoapi"] += theirs["numberReturned"]
                    if not (mine["numberMatched"] == matched == theirs["numberMatched"]
                            and mine["numberReturned"] == count == theirs["numberReturned"]):
                        mismatches += 1
                    if text and i == 0:
                        _check_same_page(mine, text)
        finally:
            ours.terminate()
            ref.terminate()
            ours.wait(timeout=30)
            ref.wait(timeout=30)
    result: dict[str, Any] = {"boxes": n, "limit": LIMIT, "mismatched_boxes": mismatches}
    for key, samples in timings.items():
        p50, p95 = percentiles(samples)
        result[key] = {"p50_ms": p50, "p95_ms": p95, "features": returned[key],
                       "features_per_s": round(returned[key] / sum(samples))}
    result["p95_ratio_to_bare_sql"] = result["ours"]["p95_ms"] / result["bare"]["p95_ms"]
    result["features_per_s_ratio_to_pygeoapi"] = (
        result["ours"]["features_per_s"] / result["pygeoapi"]["features_per_s"])
    return result


def _check_same_page(mine: dict[str, Any], bare_text: str) -> None:
    """Stop if ours and the bare SQL do not give the same features (ids, coordinates)."""
    import json

    bare = json.loads(bare_text)
    ours = {f["id"]: f for f in mine["features"]}
    for feature in bare:
        got = ours.get(feature["id"])
        if got is None or got["geometry"]["coordinates"] != feature["geometry"]["coordinates"]:
            raise SystemExit(f"ours and the bare SQL differ at feature {feature['id']}")


def summary(result: dict[str, Any]) -> list[str]:
    lines = [f"{'items, limit 1000, 2 km box':28} {'p50 ms':>8} {'p95 ms':>8} {'feat/s':>8}"]
    for key, label in (("ours", "Lovkarta /ogc/ (HTTP)"), ("bare", "bare SQL (psycopg)"),
                       ("pygeoapi", "pygeoapi 0.21 (HTTP)")):
        r = result[key]
        lines.append(f"{label:28} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
                     f"{r['features_per_s']:>8}")
    ratio = result["p95_ratio_to_bare_sql"]
    speed = result["features_per_s_ratio_to_pygeoapi"]
    lines.append(f"p95 ours / bare SQL: {ratio:.2f}x ({'met' if ratio <= 2 else 'NOT MET'}: "
                 f"at most 2x); features/s ours / pygeoapi: {speed:.2f}x "
                 f"({'met' if speed >= 1.5 else 'NOT MET'}: at least 1.5x); boxes whose "
                 f"counts differed between the three: {result['mismatched_boxes']}")
    return lines


if __name__ == "__main__":
    import argparse
    import json

    from run import DATABASE_URL, DB, VAR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=200)
    args = parser.parse_args()
    out = bench_ogcapi(DB, DATABASE_URL, args.boxes)
    (VAR / "ogcapi.json").write_text(json.dumps(out, indent=2))
    for line in summary(out):
        say(line)
    sys.exit(0)
