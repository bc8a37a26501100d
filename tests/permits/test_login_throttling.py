"""Log-in protection (django-axes): an account locks after 5 failures, an address after 20,
for 15 minutes; one message for every lock-out, whether the account exists or not; the
admin reads the attempts and unlocks; e-ID (OIDC) and the cases API's tokens still work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from permits.services.tokens import token_create
from tests.permits.test_login import OIDC

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/konto/logga-in/"
PASSWORD = "rätt-lösenord-2026"
LOCKED = ("För många misslyckade inloggningsförsök. Inloggningen är spärrad en stund: "
          "försök igen om 15 minuter.")
WRONG = "Användarnamn och lösenord stämde inte. Försök igen."
MESSAGE = re.compile(r'<div class="error-summary"[^>]*>\s*<p>(.*?)</p>', re.S)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A cheap hasher: these tests post dozens of passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def anna(django_user_model):
    return django_user_model.objects.create_user("anna", password=PASSWORD)


@pytest.fixture
def bertil(django_user_model):
    return django_user_model.objects.create_user("bertil", password=PASSWORD)


def log_in(username: str, password: str, address: str = "192.0.2.10"):
    """Post the log-in form from ``address`` in a fresh browser; return the response."""
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password},
                           REMOTE_ADDR=address)
    response.logged_in = "_auth_user_id" in client.session
    return response


def message(response) -> str:
    found = MESSAGE.search(response.content.decode())
    return " ".join(found.group(1).split()) if found else ""


def fail(username: str, times: int, address: str = "192.0.2.10"):
    responses = [log_in(username, "fel-lösenord", address) for _ in range(times)]
    return responses[-1]


def test_the_policy_defaults():
    assert django_settings.LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT == 5
    assert django_settings.LOVKARTA_LOGIN_FAILURES_PER_ADDRESS == 20
    assert django_settings.LOVKARTA_LOGIN_COOLOFF_MINUTES == 15
    assert django_settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert django_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_five_wrong_then_the_right_password_is_refused(anna):
    for _ in range(4):
        response = log_in("anna", "fel-lösenord")
        assert response.status_code == 200 and message(response) == WRONG
    fifth = log_in("anna", "fel-lösenord")
    assert fifth.status_code == 429 and message(fifth) == LOCKED
    right = log_in("anna", PASSWORD)
    assert right.status_code == 429 and message(right) == LOCKED
    assert not right.logged_in
    # From another address too: the account itself is locked.
    elsewhere = log_in("anna", PASSWORD, address="198.51.100.7")
    assert elsewhere.status_code == 429 and not elsewhere.logged_in


def test_an_unknown_account_gets_the_same_answers(anna):
    known = [log_in("anna", "fel-lösenord", "192.0.2.20") for _ in range(6)]
    unknown = [log_in("finns-inte", "fel-lösenord", "192.0.2.30") for _ in range(6)]
    assert [(r.status_code, message(r)) for r in known] == \
        [(r.status_code, message(r)) for r in unknown] == [(200, WRONG)] * 4 + [(429, LOCKED)] * 2
    # The pages differ only in the CSRF token and the user name typed.
    def page(response, name):
        text = response.content.decode().replace(name, "NAME")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    assert page(known[-1], "anna") == page(unknown[-1], "finns-inte")


def test_other_accounts_on_the_address_are_unaffected(anna, bertil):
    fail("anna", 5, "192.0.2.40")
    assert log_in("bertil", PASSWORD, "192.0.2.40").logged_in


def test_an_address_locks_after_twenty_failures_over_any_accounts(anna, bertil):
    for n in range(19):
        log_in(f"gissning-{n}", "fel-lösenord", "203.0.113.5")
    assert log_in("anna", PASSWORD, "203.0.113.5").logged_in  # 19 failures: still open
    twentieth = log_in("gissning-19", "fel-lösenord", "203.0.113.5")
    assert twentieth.status_code == 429 and message(twentieth) == LOCKED
    refused = log_in("bertil", PASSWORD, "203.0.113.5")
    assert refused.status_code == 429 and not refused.logged_in
    assert log_in("bertil", PASSWORD, "203.0.113.6").logged_in  # another address


def test_the_lock_ends_after_the_cool_off(anna, bertil):
    fail("anna", 5, "192.0.2.70")
    fail("bertil", 5, "192.0.2.71")
    start = timezone.now()

    def at(minutes: int):
        later = start + timedelta(minutes=minutes)
        return mock.patch("axes.handlers.proxy.now", return_value=later)

    with at(14):
        assert log_in("anna", PASSWORD, "192.0.2.70").status_code == 429
    with at(16):
        assert log_in("bertil", PASSWORD, "192.0.2.71").logged_in
    # That refused attempt counted as a failure: the 15 minutes run from it.
    with at(28):
        assert log_in("anna", PASSWORD, "192.0.2.72").status_code == 429
    with at(44):
        assert log_in("anna", PASSWORD, "192.0.2.70").logged_in


def test_behind_a_proxy_the_forwarded_address_counts(settings, anna, bertil):
    settings.LOVKARTA_PROXY_COUNT = 1
    for n in range(20):
        Client().post(LOGIN, {"username": f"g{n}", "password": "x"}, REMOTE_ADDR="10.0.0.1",
                      HTTP_X_FORWARDED_FOR=f"1.2.3.4, 203.0.113.{n}")
    # Twenty addresses behind one proxy, a spoofed left-most entry: nobody is locked.
    ok = Client()
    ok.post(LOGIN, {"username": "bertil", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.99")
    assert "_auth_user_id" in ok.session
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        f"203.0.113.{n}" for n in range(20)}


def test_the_admin_reads_the_attempts_and_unlocks(anna, django_user_model):
    fail("anna", 5, "192.0.2.50")
    fail("finns-inte", 2, "192.0.2.51")
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("admin-test", password="x"))
    attempts = admin.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200
    page = attempts.content.decode()
    assert "anna" in page and "192.0.2.50" in page and "finns-inte" in page
    failures = admin.get("/admin/axes/accessfailurelog/")
    assert failures.status_code == 200 and "192.0.2.51" in failures.content.decode()
    assert AccessFailureLog.objects.filter(username="anna", locked_out=True).exists()
    # Unlock: delete anna's attempt in the admin.
    attempt = AccessAttempt.objects.get(username="anna")
    done = admin.post("/admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert done.status_code == 302
    assert log_in("anna", PASSWORD, "192.0.2.50").logged_in


def test_the_cases_api_token_is_not_throttled(demo_users):
    officer = demo_users["handlaggare"]
    fail(officer.username, 5)
    _token, secret = token_create(user=officer, name="test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/cases").status_code == 200
    for _ in range(10):
        wrong = Client(HTTP_AUTHORIZATION="Bearer lk_fel").get("/api/v1/cases")
        assert wrong.status_code == 401
    assert api.get("/api/v1/cases").status_code == 200
    assert not AccessAttempt.objects.exclude(username=officer.username).exists()


OIDC_PROBE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from unittest import mock
from django.conf import settings
from django.core.management import call_command
from django.contrib.auth import authenticate
from django.test import RequestFactory
from axes.models import AccessAttempt
from permits.auth import EIDBackend
call_command("migrate", verbosity=0)
print(",".join(b.rsplit(".", 1)[1] for b in settings.AUTHENTICATION_BACKENDS))
claims = {"sub": "198001019999", "given_name": "Eva", "email": "eva@example.invalid"}
def callback(address):
    request = RequestFactory().get("/oidc/callback/", {"code": "c", "state": "s"},
                                   REMOTE_ADDR=address)
    request.session = {}
    with mock.patch.object(EIDBackend, "get_token", return_value={"id_token": "i",
                                                                   "access_token": "a"}), \\
         mock.patch.object(EIDBackend, "verify_token", return_value={"nonce": None}), \\
         mock.patch.object(EIDBackend, "get_userinfo", return_value=claims):
        user = authenticate(request=request)
    return user.username if user else "REFUSED"
print(callback("192.0.2.60"))
for n in range(20):
    authenticate(request=RequestFactory().post("/konto/logga-in/", REMOTE_ADDR="192.0.2.61"),
                 username=f"g{n}", password="fel")
print(callback("192.0.2.61"))
print(callback("192.0.2.62"))
"""


def test_e_id_log_in_passes_through_axes(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOVKARTA_OIDC_")}
    env.update(OIDC, ALLOWED_HOSTS="testserver",
               DATABASE_URL=f"spatialite:///{tmp_path / 'oidc-axes.sqlite3'}")
    done = subprocess.run([sys.executable, "-c", OIDC_PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    backends, first, locked, other = done.stdout.strip().splitlines()[-4:]
    assert backends == "AxesStandaloneBackend,ModelBackend,EIDBackend"
    assert first == "eid:198001019999"
    assert locked == "REFUSED"  # the address is locked: e-ID from there waits too
    assert other == "eid:198001019999"
