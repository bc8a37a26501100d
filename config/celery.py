"""The Celery app: background syncs (and later checks, exports, PDFs) on Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("lovkarta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="lovkarta.prune_login_logs")
def prune_login_logs() -> dict[str, int]:
    """Remove log-in records older than LOVKARTA_LOGIN_LOG_DAYS (nightly, on beat)."""
    from config.login_protection import login_logs_prune  # needs the apps loaded

    pruned = login_logs_prune()
    return {"logins": pruned.logins, "failures": pruned.failures,
            "attempts": pruned.attempts}
