"""The production stack's configuration, without starting it: scripts/prod.sh renders an
nginx configuration that nginx accepts, makes its secret and certificate once, and
gunicorn loads deploy/gunicorn.conf.py with the application."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def prod_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOVKARTA_", "DJANGO_"))}
    return {**env, "LOVKARTA_PROD_DIR": str(tmp_path / "prod"),
            "LOVKARTA_PROD_HTTPS_PORT": "8643", "LOVKARTA_PROD_HTTP_PORT": "8288"}


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (WITH_PROD=1 scripts/setup.sh installs it)")
def test_prod_sh_renders_a_configuration_nginx_accepts(tmp_path):
    done = subprocess.run([str(ROOT / "scripts" / "prod.sh"), "env"], cwd=ROOT,
                          env=prod_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = dict(line.removeprefix("export ").split("=", 1)
                    for line in done.stdout.splitlines())
    assert exported["LOVKARTA_PRODUCTION"] == "1"
    assert exported["DJANGO_SETTINGS_MODULE"] == "deploy.settings"
    assert exported["CSRF_TRUSTED_ORIGINS"].startswith("https://127.0.0.1:8643")
    assert exported["REDIS_URL"] == f"redis+socket://{tmp_path}/prod/run/redis.sock"
    site = (tmp_path / "prod" / "nginx" / "lovkarta.conf").read_text()
    assert "${" not in site and "listen 127.0.0.1:8643 ssl" in site
    assert "return 301 https://$host:8643$request_uri;" in site
    assert f"alias {ROOT}/var/static/" in site
    main = (tmp_path / "prod" / "nginx" / "nginx.conf").read_text()
    assert f"pid {tmp_path}/prod/run/nginx.pid;" in main
    # The secret and the key are the owner's alone, and made once.
    secret = tmp_path / "prod" / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 50
    assert stat.S_IMODE((tmp_path / "prod" / "tls").stat().st_mode) == 0o700
    again = subprocess.run([str(ROOT / "scripts" / "prod.sh"), "env"], cwd=ROOT,
                           env=prod_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert again.stdout == done.stdout


def test_gunicorn_loads_its_configuration_and_the_application(tmp_path):
    env = {**prod_env(tmp_path),
           "LOVKARTA_GUNICORN_BIND": f"unix:{tmp_path}/gunicorn.sock",
           "LOVKARTA_GUNICORN_PID": str(tmp_path / "gunicorn.pid"),
           "DATABASE_URL": f"spatialite:///{tmp_path / 'check.sqlite3'}"}
    done = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--check-config",
                           "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
