"""The cache of the production profile: Redis (Django's own RedisCache) and sessions read
through it when Redis is configured; scripts/prod.sh hands the stack its socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"LOVKARTA_PRODUCTION": "1", "SECRET_KEY": "k" * 40 + "0123456789abcdef",
              "ALLOWED_HOSTS": "bygglov.example"}
SHOW = ("import json; from django.conf import settings as s; print(json.dumps("
        "[s.CACHES['default'], s.SESSION_ENGINE]))")


def settings_with(tmp_path: Path, **env: str) -> tuple[dict[str, object], str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("LOVKARTA_", "DJANGO_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {SHOW}"], cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings",
             "DATABASE_URL": f"spatialite:///{tmp_path / 'x.sqlite3'}", **env},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cache, engine = json.loads(done.stdout.splitlines()[-1])
    return cache, engine


def test_production_with_redis_caches_in_redis_and_reads_sessions_from_it(tmp_path):
    cache, engine = settings_with(tmp_path, **PRODUCTION,
                                  REDIS_URL="redis+socket:///srv/run/redis.sock")
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "unix:///srv/run/redis.sock"  # redis-py's name of a socket
    assert engine == "django.contrib.sessions.backends.cached_db"
    named, _engine = settings_with(tmp_path, **PRODUCTION,
                                   REDIS_URL="redis+socket:///srv/run/redis.sock",
                                   LOVKARTA_CACHE_URL="unix:///srv/run/redis.sock?db=1")
    assert named["LOCATION"] == "unix:///srv/run/redis.sock?db=1"


def test_without_redis_each_process_caches_in_memory(tmp_path):
    cache, engine = settings_with(tmp_path)
    assert cache["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert engine == "django.contrib.sessions.backends.db"


def test_prod_sh_gives_the_stack_its_cache_socket(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOVKARTA_", "DJANGO_"))}
    done = subprocess.run([str(ROOT / "scripts" / "prod.sh"), "env"], cwd=ROOT, env={
        **env, "LOVKARTA_PROD_DIR": str(tmp_path / "prod")}, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, done.stderr
    exported = dict(line.removeprefix("export ").split("=", 1)
                    for line in done.stdout.splitlines())
    assert exported["LOVKARTA_CACHE_URL"] == f"unix://{tmp_path}/prod/run/redis.sock\\?db=1"
