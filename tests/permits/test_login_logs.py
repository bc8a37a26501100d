"""What django-axes records: kept LOVKARTA_LOGIN_LOG_DAYS, then removed (by the command
for cron and by the Celery task on beat's schedule); its admin pages in Swedish."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from config.celery import app, prune_login_logs

pytestmark = pytest.mark.django_db


def recorded(days_ago: float, name: str) -> list[object]:
    """A log-in, a failure and an attempt by ``name``, made ``days_ago`` days ago."""
    when = timezone.now() - timedelta(days=days_ago)
    common = {"username": name, "ip_address": "192.0.2.7", "user_agent": "pytest",
              "http_accept": "*/*", "path_info": "/konto/logga-in/"}
    made = [AccessLog.objects.create(**common),
            AccessFailureLog.objects.create(**common),
            AccessAttempt.objects.create(**common, get_data="", post_data="",
                                         failures_since_start=2)]
    for record in made:  # attempt_time is set on creation: moved back in time here
        type(record).objects.filter(pk=record.pk).update(attempt_time=when)
    return made


def left(name: str) -> list[int]:
    return [model.objects.filter(username=name).count()
            for model in (AccessLog, AccessFailureLog, AccessAttempt)]


@pytest.fixture
def records(settings):
    settings.LOVKARTA_LOGIN_LOG_DAYS = 90
    for name, days_ago in (("gammal", 120), ("nyss-for-gammal", 90.01),
                           ("nyss-ung", 89.99), ("ung", 2)):
        recorded(days_ago, name)


def test_the_command_removes_what_is_older_than_the_days_kept(records):
    out = StringIO()
    call_command("lovkarta_login_logs", stdout=out)
    assert out.getvalue().startswith("Removed 2 log-ins, 2 failed log-ins and 2 attempts")
    assert left("gammal") == left("nyss-for-gammal") == [0, 0, 0]
    assert left("nyss-ung") == left("ung") == [1, 1, 1]

    call_command("lovkarta_login_logs", "--days", "1", stdout=StringIO())
    assert left("nyss-ung") == left("ung") == [0, 0, 0]
    with pytest.raises(CommandError, match="at least one day"):
        call_command("lovkarta_login_logs", "--days", "0", stdout=StringIO())


def test_beat_runs_the_task_that_removes_them(records):
    entry = django_settings.CELERY_BEAT_SCHEDULE["lovkarta-prune-login-logs"]
    assert entry["task"] == prune_login_logs.name and entry["task"] in app.tasks
    assert prune_login_logs.apply().get() == {"logins": 2, "failures": 2, "attempts": 2}
    assert left("gammal") == [0, 0, 0] and left("ung") == [1, 1, 1]


def test_an_attempt_in_its_cool_off_stays_however_short_the_days(settings):
    settings.AXES_COOLOFF_TIME = timedelta(days=3)
    recorded(2, "spärrad")
    call_command("lovkarta_login_logs", "--days", "1", stdout=StringIO())
    assert left("spärrad") == [0, 0, 1]  # the lock-out still counts


@pytest.mark.parametrize("language,words", [
    ("sv", ["inloggningsförsök", "IP-adress", "Användarnamn", "Misslyckade inloggningar",
            "Utelåst", "försök kvar"]),
    ("en", ["access attempt", "IP Address", "Username", "Failed Logins", "Locked Out",
            "Attempt Remaining"]),
])
def test_the_admin_of_log_in_protection_speaks_swedish(django_user_model, language, words):
    admin = django_user_model.objects.create_superuser("loggrannare", "l@example.invalid",
                                                       "x-lösenord-2026")
    recorded(0, "nagon")
    client = Client()
    client.force_login(admin)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/admin/axes/accessattempt/").content.decode()
    missing = [w for w in words if w not in page]
    assert not missing, missing
    index = client.get("/admin/").content.decode()
    assert ("Inloggningsförsök" if language == "sv" else "Access attempts") in index
