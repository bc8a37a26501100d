"""Gunicorn for the production stack (scripts/prod.sh), read with `gunicorn -c`.

Sync workers behind nginx: nginx buffers slow clients' requests and answers, so a worker
is only held for the time Django works. Each setting can be changed from the environment.
"""

import multiprocessing
import os

wsgi_app = "config.wsgi:application"
# A unix socket in the stack's run directory: no port to collide with on a shared machine.
bind = os.environ.get("LOVKARTA_GUNICORN_BIND", "unix:var/prod/run/gunicorn.sock")
# Django's time goes mostly to the database, on the same machine: two workers per core.
workers = int(os.environ.get("LOVKARTA_GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
# A worker that answers nothing for this long is restarted; nginx gives up a bit later.
timeout = int(os.environ.get("LOVKARTA_GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# Recycle workers now and then (a slow leak in a library cannot grow without bound);
# the jitter keeps them from restarting all at once.
max_requests = int(os.environ.get("LOVKARTA_GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The socket is for nginx's workers (another user): the directory holding it is the gate.
umask = 0o000
pidfile = os.environ.get("LOVKARTA_GUNICORN_PID", "var/prod/run/gunicorn.pid")
accesslog = os.environ.get("LOVKARTA_GUNICORN_ACCESS_LOG") or None
errorlog = os.environ.get("LOVKARTA_GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOVKARTA_GUNICORN_LOG_LEVEL", "info")
# nginx sets X-Forwarded-Proto itself (overwriting any a client sent); only it may.
forwarded_allow_ips = "127.0.0.1"
proxy_allow_ips = "127.0.0.1"
