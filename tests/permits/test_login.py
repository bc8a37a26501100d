"""Log-in: local accounts now, an OIDC e-ID provider by configuration alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OIDC = {
    "LOVKARTA_OIDC_CLIENT_ID": "lovkarta", "LOVKARTA_OIDC_CLIENT_SECRET": "hemligt",
    "LOVKARTA_OIDC_AUTHORIZATION_ENDPOINT": "https://eid.example.se/authorize",
    "LOVKARTA_OIDC_TOKEN_ENDPOINT": "https://eid.example.se/token",
    "LOVKARTA_OIDC_USER_ENDPOINT": "https://eid.example.se/userinfo",
    "LOVKARTA_OIDC_JWKS_ENDPOINT": "https://eid.example.se/jwks",
    "LOVKARTA_OIDC_LABEL": "BankID",
}
PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
c = Client()
page = c.get("/konto/logga-in/").content.decode()
print("BUTTON" if 'id="login-eid"' in page and "BankID" in page else "NO-BUTTON")
r = c.get("/oidc/authenticate/")
print(r.status_code, r.get("Location", ""))
"""


def probe(extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Start Django in a fresh process with these settings, on a throwaway database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOVKARTA_OIDC_")}
    env.update(extra, ALLOWED_HOSTS="testserver",
               DATABASE_URL=f"spatialite:///{tmp_path / 'oidc.sqlite3'}")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_oidc_is_switched_on_by_settings_alone(tmp_path):
    done = probe(OIDC, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    button, redirect = done.stdout.strip().splitlines()
    assert button == "BUTTON"
    status, location = redirect.split(" ", 1)
    assert status == "302" and location.startswith("https://eid.example.se/authorize?")
    assert "client_id=lovkarta" in location and "hemligt" not in location


def test_half_configured_oidc_fails_loudly(tmp_path):
    half = {k: v for k, v in OIDC.items() if k != "LOVKARTA_OIDC_TOKEN_ENDPOINT"}
    done = probe(half, tmp_path)
    assert done.returncode != 0
    assert "LOVKARTA_OIDC_TOKEN_ENDPOINT" in done.stderr


@pytest.mark.django_db
def test_local_accounts_without_oidc(client, demo_users):
    page = client.get("/konto/logga-in/").content.decode()
    assert 'id="login-eid"' not in page
    response = client.post("/konto/logga-in/", {"username": "sokande",
                                                "password": "lovkarta-demo"})
    assert response.status_code == 302
    wrong = client.post("/konto/logga-in/", {"username": "sokande", "password": "fel"})
    assert 'class="error-summary"' in wrong.content.decode()
