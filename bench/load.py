"""Load test of the production stack (nginx, gunicorn, Celery, PostGIS with ~1M parcels).

    .venv/bin/python bench/load.py [--users 10,20,40] [--seconds 60] [--keep]

Prepares its database (LOVKARTA_BENCH_DB, default lovkarta_bench_load) with a million
parcels and their plans (bench/run.load_million, once: a second run finds them there),
starts a production stack of its own against it (scripts/prod.sh with var/bench/prod/ and
other ports than `make prod-up`'s), makes the applicants' accounts, and runs Locust
(bench/locustfile.py) headless in steps of more and more users. Each step is measured
after its users have all started. A step passes when no request failed and every
endpoint met its goal at p95: pages 300 ms, submit (with a PDF) 1 s, API 50 ms. The
highest passing step is the load this machine sustains. Prints a table per step and
endpoint (requests, p50/p95/p99 ms, errors, req/s) and writes var/bench/load.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LOVKARTA_BENCH_DB", "lovkarta_bench_load")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (bench/run.py: the database helpers, after its DB is chosen)

ROOT = run.ROOT
VAR = run.VAR
PROD = ROOT / "scripts" / "prod.sh"
# p95 goals (ms) by the first word of a request's name in the locustfile; login has none
# (a password hash costs what it should).
GOALS_MS = {"page": 300.0, "submit": 1000.0, "api": 50.0}
DEFAULT_STEPS = (2, 5, 10, 20, 40)


def stack_env(workers: int) -> dict[str, str]:
    """The environment of the load test's own production stack (scripts/prod.sh)."""
    return {**os.environ,
            "LOVKARTA_PROD_DIR": str(VAR / "prod"), "LOVKARTA_PROD_DB": run.DB,
            "LOVKARTA_PROD_HTTPS_PORT": os.environ.get("LOVKARTA_LOAD_HTTPS_PORT", "8543"),
            "LOVKARTA_PROD_HTTP_PORT": os.environ.get("LOVKARTA_LOAD_HTTP_PORT", "8188"),
            "LOVKARTA_PROD_OGC_PORT": os.environ.get("LOVKARTA_LOAD_OGC_PORT", "18181"),
            "LOVKARTA_PROD_OGC_PORT_2280": os.environ.get("LOVKARTA_LOAD_OGC_PORT_2280",
                                                          "18182"),
            # No demo sync or demo cases: the million parcels are the data.
            "LOVKARTA_PROD_DEMO": "0", "LOVKARTA_GUNICORN_WORKERS": str(workers),
            # One line a request would cost the disk and the CPU more than it tells.
            "LOVKARTA_GUNICORN_ACCESS_LOG": ""}


def prod(command: str, env: dict[str, str]) -> str:
    done = subprocess.run([str(PROD), command], cwd=ROOT, env=env, text=True,
                          capture_output=command in ("env", "url"))
    if done.returncode != 0:
        raise SystemExit(f"scripts/prod.sh {command} failed ({done.returncode})")
    return done.stdout or ""


def parcel_count() -> int:
    try:
        return int(run.psql("SELECT count(*) FROM geodata_parcel", run.DB))
    except subprocess.CalledProcessError:
        return 0  # no database yet, or not migrated


def prepare_database(parcels: int, env: dict[str, str]) -> int:
    """Load the million parcels unless they are there already; return the count."""
    count = parcel_count()
    if count < parcels * 0.9:
        prod("down", env)  # its connections would keep the database from being dropped
        run.fresh_database()
        run.load_million(parcels)
        count = parcel_count()
    run.say(f"== {run.DB}: {count:,} parcels")
    return count


def load_points(path: Path, n: int = 5000) -> int:
    """Write n points inside random parcels (lon, lat, E, N, designation, id) to path."""
    rows = run.psql(
        "SELECT ST_X(w), ST_Y(w), ST_X(p), ST_Y(p), beteckning, objektidentitet FROM ("
        "SELECT ST_PointOnSurface(geom) p, ST_Transform(ST_PointOnSurface(geom), 4326) w, "
        "beteckning, objektidentitet FROM geodata_parcel TABLESAMPLE SYSTEM (2) "
        f"WHERE beteckning <> '' ORDER BY random() LIMIT {int(n)}) s", run.DB)
    points = []
    for line in rows.splitlines():
        lon, lat, e, n_, designation, oid = line.split("|")
        points.append([float(lon), float(lat), float(e), float(n_), designation, oid])
    path.write_text(json.dumps(points))
    return len(points)


ACCOUNTS = """
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
prefix, n, password = {prefix!r}, {n}, {password!r}
names = [f"{{prefix}}{{i:04d}}" for i in range(1, n + 1)]
there = set(User.objects.filter(username__in=names).values_list("username", flat=True))
User.objects.bulk_create([User(username=u, first_name="Lars", last_name="Lasttest")
                          for u in names if u not in there])
# One hash for all: hashing each would take minutes (PBKDF2), and they share a password.
User.objects.filter(username__in=names).update(password=make_password(password))
"""


def make_accounts(prefix: str, n: int, password: str, env: dict[str, str]) -> None:
    """Create (or reset) the applicants' accounts in the stack's database."""
    exports = prod("env", env)
    code = ACCOUNTS.format(prefix=prefix, n=n, password=password)
    subprocess.run(["bash", "-c", f'{exports}\nexec "$0" manage.py shell -v 0 -c "$1"',
                    sys.executable, code], cwd=ROOT, env=env, check=True)


def number(text: str) -> float:
    """A figure of Locust's CSV ("N/A" where an endpoint had no request)."""
    try:
        return float(text)
    except ValueError:
        return 0.0


def category(name: str) -> str:
    return name.split(":")[0].split(" ")[0]


ACCESS = re.compile(r'" (\d{3}) \d+ rt=([\d.]+) urt=([\d.]+|-) load="([^"]*)"')


def server_times(access_log: Path, start: int) -> dict[str, list[float]]:
    """The time gunicorn took (ms) of each named request nginx logged after ``start``."""
    time.sleep(3)  # nginx writes its log buffer every 2 s
    times: dict[str, list[float]] = {}
    with access_log.open("rb") as f:
        f.seek(start)
        for line in f.read().decode(errors="replace").splitlines():
            found = ACCESS.search(line)
            if found and found.group(4) and found.group(3) != "-":
                times.setdefault(found.group(4), []).append(float(found.group(3)) * 1000)
    return times


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user and system) a process has used, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def stack_pids() -> dict[str, list[int]]:
    """The processes of the load test's stack: each master with its children, and the
    database's server processes for this database's connections."""
    run_dir = VAR / "prod" / "run"
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    pids: dict[str, list[int]] = {}
    for name in ("nginx", "gunicorn", "celery"):
        try:
            master = int((run_dir / f"{name}.pid").read_text())
        except (OSError, ValueError):
            continue
        pids[name] = [master, *children.get(master, [])]
    backends = run.psql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{run.DB}' AND "
                        "pid <> pg_backend_pid()")
    pids["postgres"] = [int(p) for p in backends.split()]
    return pids


def stack_cpu(pids: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {name: {pid: cpu_of(pid) for pid in group} for name, group in pids.items()}


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
             ) -> dict[str, float]:
    """CPU seconds each part used between the two readings: of the processes there at
    the end (one that ended meanwhile took what it used with it; a new one counts whole)."""
    return {name: round(sum(cpu - before.get(name, {}).get(pid, 0.0)
                            for pid, cpu in group.items() if cpu), 2)
            for name, group in after.items()}


def run_step(url: str, users: int, seconds: int, points: Path, prefix: str,
             password: str) -> list[dict[str, Any]]:
    """Run Locust with this many users; return a row per endpoint and a total row."""
    access_log = VAR / "prod" / "log" / "nginx-access.log"
    log_start = access_log.stat().st_size if access_log.exists() else 0
    out = VAR / f"load-{users}u"
    spawn_rate = max(1, users // 10)  # all started within about ten seconds
    cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(BENCH / "locustfile.py"),
           "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate),
           "--run-time", f"{seconds + users // spawn_rate}s", "--reset-stats",
           "--host", url, "--csv", str(out), "--only-summary", "--stop-timeout", "15",
           "--loglevel", "WARNING"]
    env = {**os.environ, "LOVKARTA_LOAD_POINTS": str(points), "LOVKARTA_LOAD_USERS": prefix,
           "LOVKARTA_LOAD_PASSWORD": password}
    run.say(f"== {users} users for {seconds} s (after {users // spawn_rate} s of start-up)")
    load_before = os.getloadavg()[0]
    # CPU time is what a shared machine does not distort: the stack's per request, and
    # Locust's own (it shares the two cores).
    pids = stack_pids()
    cpu_before = stack_cpu(pids)
    locust_before = os.times().children_user + os.times().children_system
    with (out.parent / f"{out.name}.log").open("w") as log:
        subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                       check=False)
    locust_cpu = os.times().children_user + os.times().children_system - locust_before
    # The machine is shared: what else ran is part of the figures.
    load_after = os.getloadavg()[0]
    cpu = cpu_used(cpu_before, stack_cpu(stack_pids()))
    server = server_times(access_log, log_start) if access_log.exists() else {}
    rows = []
    with (out.parent / f"{out.name}_stats.csv").open() as f:
        for r in csv.DictReader(f):
            name = r["Name"]
            if not int(r["Request Count"]):
                continue  # only before the statistics were reset (the log-in page)
            kind = "total" if name == "Aggregated" else category(name)
            goal = GOALS_MS.get(kind)
            mine = ([t for times in server.values() for t in times] if kind == "total"
                    else server.get(name, []))
            p95 = number(r["95%"])
            rows.append({
                "users": users, "endpoint": name, "method": r["Type"], "kind": kind,
                "requests": int(r["Request Count"]), "errors": int(r["Failure Count"]),
                "req_per_s": number(r["Requests/s"]), "p50_ms": number(r["50%"]),
                "p95_ms": p95, "p99_ms": number(r["99%"]), "goal_p95_ms": goal,
                "met": (goal is None or p95 < goal) and int(r["Failure Count"]) == 0,
                "loadavg_1min": [round(load_before, 1), round(load_after, 1)],
                # gunicorn's own time (nginx's upstream time), over the whole step
                "server_p50_ms": round(quantile(mine, 0.5), 1),
                "server_p95_ms": round(quantile(mine, 0.95), 1),
                "cpu_s": cpu, "locust_cpu_s": round(locust_cpu, 2),
                # every request nginx logged in the step, start-up and log-ins too
                "step_requests": sum(len(times) for times in server.values())})
    failures = out.parent / f"{out.name}_failures.csv"
    if failures.exists():
        with failures.open() as f:
            for r in csv.DictReader(f):
                run.say(f"   error: {r['Method']} {r['Name']}: {r['Error']} "
                        f"({r['Occurrences']}x)")
    return rows


def step_passed(rows: list[dict[str, Any]]) -> bool:
    return all(r["met"] for r in rows)


def bench_load(steps: tuple[int, ...] = DEFAULT_STEPS, seconds: int = 60,
               parcels: int = 1_000_000, workers: int = 4, keep: bool = False,
               every_step: bool = False) -> list[dict[str, Any]]:
    """Prepare, start the stack, run the steps until one misses a goal or has an error
    (or all of them, with every_step); return every row."""
    VAR.mkdir(parents=True, exist_ok=True)
    env = stack_env(workers)
    prepare_database(parcels, env)
    prod("up", env)
    url = prod("url", env).strip()
    points = VAR / "load-points.json"
    run.say(f"== {load_points(points)} points inside parcels")
    password = secrets.token_urlsafe(18)
    rows: list[dict[str, Any]] = []
    try:
        for step, users in enumerate(steps, 1):
            prefix = f"last-{int(time.time())}-{step}-"
            # Applicants are three in four users (the locustfile's weights).
            make_accounts(prefix, users, password, env)
            got = run_step(url, users, seconds, points, prefix, password)
            rows += got
            (VAR / "load.json").write_text(json.dumps(
                {"rows": rows, "goals_p95_ms": GOALS_MS, "parcels": parcel_count(),
                 "workers": workers, "seconds": seconds}, indent=2))
            if not step_passed(got) and not every_step:
                break
    finally:
        if not keep:
            prod("down", env)
    return rows


def print_load(rows: list[dict[str, Any]]) -> None:
    """Print a table per step, and the highest load that met every goal with no error."""
    run.say("\nLoad test of the production stack (Locust; goals at p95: pages 300 ms, "
            "submit 1 s, API 50 ms; no errors). Times in ms as Locust saw them; app: "
            "gunicorn's own time (nginx's upstream time)")
    best = None
    for users in dict.fromkeys(r["users"] for r in rows):
        step = [r for r in rows if r["users"] == users]
        total = next((r for r in step if r["kind"] == "total"), None)
        passed = step_passed(step)
        loads = step[0]["loadavg_1min"]
        run.say(f"\n{users} users, {total['req_per_s'] if total else 0:.1f} req/s: "
                f"{'all goals met' if passed else 'GOALS NOT MET'} (machine load average "
                f"{loads[0]} before, {loads[1]} after)")
        run.say(f"{'endpoint':42} {'requests':>8} {'req/s':>6} {'p50':>6} {'p95':>6} "
                f"{'p99':>6} {'goal':>6} {'errors':>6} {'app p50':>7} {'app p95':>7}")
        for r in step:
            goal = f"{r['goal_p95_ms']:.0f}" if r["goal_p95_ms"] else "-"
            mark = "" if r["met"] else "  <-- missed"
            run.say(f"{r['method'] + ' ' + r['endpoint']:42.42} {r['requests']:>8} "
                    f"{r['req_per_s']:6.1f} {r['p50_ms']:6.0f} {r['p95_ms']:6.0f} "
                    f"{r['p99_ms']:6.0f} {goal:>6} {r['errors']:>6} "
                    f"{r.get('server_p50_ms', 0):7.0f} {r.get('server_p95_ms', 0):7.0f}{mark}")
        cpu, counted = step[0].get("cpu_s"), step[0].get("step_requests")
        if cpu and counted:
            # Over the whole step, its start-up and log-ins (a password hash each) too.
            spent = sum(cpu.values())
            per_request = spent * 1000 / counted
            parts = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            run.say(f"CPU of the stack: {spent:.1f} s ({parts}) for {counted} requests, "
                    f"{per_request:.1f} ms a request; Locust {step[0]['locust_cpu_s']:.1f} s. "
                    f"Two idle cores: about {2000 / per_request:.0f} req/s of this mix.")
        if passed and total:
            best = (users, total["req_per_s"])
    if best:
        run.say(f"\nHighest load with no errors and every goal met: {best[0]} users "
                f"(3 applicants to 1 API reader), {best[1]:.1f} requests/s.")
    else:
        run.say("\nNo step met every goal with no errors.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default=",".join(map(str, DEFAULT_STEPS)),
                        help="the steps: users at once, comma-separated (default %(default)s)")
    parser.add_argument("--seconds", type=int, default=60,
                        help="measured seconds of each step (default %(default)s)")
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--all", action="store_true",
                        help="run every step, also after one that missed a goal")
    args = parser.parse_args()
    steps = tuple(int(u) for u in args.users.split(","))
    rows = bench_load(steps, args.seconds, args.parcels, args.workers, args.keep, args.all)
    print_load(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
