"""The Celery app: background syncs (and later checks, exports, PDFs) on Redis."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("lovkarta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
