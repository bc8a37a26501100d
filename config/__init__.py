"""Lovkarta's project configuration.

The Celery app (``config.celery``) is imported by the task modules that use it, not
here: management commands and web requests that queue nothing do not pay for Celery.
``celery -A config`` finds it as ``config.celery.app``.
"""
