"""The production profile: `check --deploy` finds nothing with production values, missing
production values fail loudly, and debug pages are on only when LOVKARTA_DEBUG=1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A key as get_random_secret_key() makes them: 50 characters of 50 kinds.
KEY = "k3#v9!q@w2e$r5t^y7u&i8o*p0a(s)d_f+g-h=j1l4z6x9c2v5b8n_m!qwe@rty#"


def run(args: list[str], tmp_path: Path, **values: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process with only these of Lovkarta's settings set."""
    # Nothing of this test run leaks in (the browser tests allow async-unsafe calls, which
    # check --deploy rightly reports).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOVKARTA_", "DJANGO_"))
           and k not in {"SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}}
    env.update(DATABASE_URL=f"spatialite:///{tmp_path / 'deploy.sqlite3'}", **values)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {"LOVKARTA_PRODUCTION": "1", "SECRET_KEY": KEY,
              "ALLOWED_HOSTS": "bygglov.sundsvall.example",
              "CSRF_TRUSTED_ORIGINS": "https://bygglov.sundsvall.example"}


def test_check_deploy_finds_nothing_in_production(tmp_path):
    done = run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path, **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_finds_nothing_with_e_id_either(tmp_path):
    from tests.permits.test_login import OIDC

    done = run(["check", "--deploy", "--fail-level", "WARNING"], tmp_path,
               **PRODUCTION, **OIDC)
    assert done.returncode == 0, done.stdout + done.stderr


PROBE = ("from django.conf import settings as s; "
         "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
         " s.SECURE_PROXY_SSL_HEADER)")


def settings_of(tmp_path: Path, **values: str) -> list[str]:
    done = run(["shell", "-v", "0", "-c", PROBE], tmp_path, **values)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1].split(maxsplit=4)


def test_production_turns_on_https_behind_the_proxy(tmp_path):
    assert settings_of(tmp_path, **PRODUCTION) == [
        "False", "True", "True", "31536000", "('HTTP_X_FORWARDED_PROTO', 'https')"]


@pytest.mark.parametrize(("values", "named"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "kort-nyckel"}, "SECRET_KEY"),
    ({"SECRET_KEY": "django-insecure-" + KEY}, "SECRET_KEY"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ({"LOVKARTA_DEBUG": "1"}, "LOVKARTA_DEBUG"),
])
def test_production_refuses_to_start_half_configured(tmp_path, values, named):
    done = run(["check"], tmp_path, **(PRODUCTION | values))
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and named in done.stderr.splitlines()[-1]


def test_debug_is_on_only_when_asked_for(tmp_path):
    assert settings_of(tmp_path)[:3] == ["False", "False", "False"]
    assert settings_of(tmp_path, LOVKARTA_DEBUG="0")[0] == "False"
    assert settings_of(tmp_path, LOVKARTA_DEBUG="1")[:3] == ["True", "False", "False"]


def test_the_demo_runs_with_debug_on():
    """`make run` (scripts/run.sh) switches debug on for the demo, and only there."""
    script = (ROOT / "scripts" / "run.sh").read_text()
    exports = re.findall(r"^export LOVKARTA_DEBUG=(.*)$", script, re.M)
    assert exports == ['"${LOVKARTA_DEBUG:-1}"']
    # It is set before the first manage.py command.
    assert script.index("export LOVKARTA_DEBUG") < script.index("manage.py")
    for other in ("Makefile", "scripts/setup.sh", ".ci/run"):
        assert "LOVKARTA_DEBUG" not in (ROOT / other).read_text()
