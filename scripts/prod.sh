#!/usr/bin/env bash
# The production stack on this machine: PostGIS, Redis, a Celery worker, gunicorn and
# nginx in front with TLS (a self-signed certificate), with the production settings
# (LOVKARTA_PRODUCTION=1) and the demo data.
#
#   scripts/prod.sh up       start what is not running (idempotent); prints the URL
#   scripts/prod.sh down     stop everything this script started, and wait for it
#   scripts/prod.sh status   what runs, and whether the site answers
#   scripts/prod.sh env      the environment the stack runs with (for manage.py by hand)
#   scripts/prod.sh check    up, the tests of tests/prod/ against it (a real browser), and
#                            down again unless it ran before (`make prod-check`)
#
# Everything lives under LOVKARTA_PROD_DIR (default var/prod): configuration, pid files,
# logs, the certificate, the secret key, the Redis socket and the media files. Each
# process is started by this script from there; the system's nginx service, its
# sites-enabled and the machine's Redis are left alone. Called by `make prod-up`,
# `make prod-down` and `make prod-check`; bench/load.py starts a second stack with
# other values of the settings below.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="$ROOT/.venv/bin/python"

PROD_DIR="$(realpath -m "${LOVKARTA_PROD_DIR:-var/prod}")"
DB="${LOVKARTA_PROD_DB:-lovkarta_prod}"
PG_HOST="${LOVKARTA_PROD_PG_HOST:-127.0.0.1}"
PG_PORT="${LOVKARTA_PROD_PG_PORT:-5432}"
PG_USER="${LOVKARTA_PROD_PG_USER:-postgres}"
HTTPS_PORT="${LOVKARTA_PROD_HTTPS_PORT:-8443}"
HTTP_PORT="${LOVKARTA_PROD_HTTP_PORT:-8088}"
OGC_PORT="${LOVKARTA_PROD_OGC_PORT:-18081}"
OGC_PORT_2280="${LOVKARTA_PROD_OGC_PORT_2280:-18082}"
# 1: sync the demo sources and make the demo cases; 0: only the municipalities, users and
# fee tables (the load test brings a million parcels of its own).
DEMO="${LOVKARTA_PROD_DEMO:-1}"
WORKERS="${LOVKARTA_GUNICORN_WORKERS:-4}"
CELERY_CONCURRENCY="${LOVKARTA_CELERY_CONCURRENCY:-1}"
HOST=127.0.0.1
URL="https://${HOST}:${HTTPS_PORT}"
RUN="$PROD_DIR/run"
LOG="$PROD_DIR/log"

say() { echo ">> $*"; }
die() { echo "prod.sh: $*" >&2; exit 1; }

pid_alive() {  # pid_alive NAME: the process of run/NAME.pid is running
  local file="$RUN/$1.pid"
  [ -s "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

stack_env() {
  local key
  key="$(cat "$PROD_DIR/secret_key")"
  export DJANGO_SETTINGS_MODULE=deploy.settings
  export LOVKARTA_PRODUCTION=1
  export LOVKARTA_DEBUG=0
  export SECRET_KEY="$key"
  export ALLOWED_HOSTS="${HOST},localhost"
  export CSRF_TRUSTED_ORIGINS="https://${HOST}:${HTTPS_PORT},https://localhost:${HTTPS_PORT}"
  export DATABASE_URL="postgis://${PG_USER}@${PG_HOST}:${PG_PORT}/${DB}"
  export REDIS_URL="redis+socket://${RUN}/redis.sock"
  # Django's cache (and the sessions read through it) in the same Redis, another db:
  # redis-py names a socket unix://.
  export LOVKARTA_CACHE_URL="unix://${RUN}/redis.sock?db=1"
  export LOVKARTA_MEDIA_ROOT="$PROD_DIR/media"
  export LOVKARTA_OGC_URL="http://127.0.0.1:${OGC_PORT}/lovkarta"
  export LOVKARTA_GUNICORN_BIND="unix:${RUN}/gunicorn.sock"
  export LOVKARTA_GUNICORN_PID="${RUN}/gunicorn.pid"
  export LOVKARTA_GUNICORN_WORKERS="$WORKERS"
  export LOVKARTA_GUNICORN_ERROR_LOG="$LOG/gunicorn.log"
  export LOVKARTA_GUNICORN_ACCESS_LOG="${LOVKARTA_GUNICORN_ACCESS_LOG:-$LOG/gunicorn-access.log}"
}

start() {  # start NAME CMD...: run CMD in a session of its own, its pid in run/NAME.pid
  local name="$1"; shift
  if pid_alive "$name"; then
    say "$name runs already (pid $(cat "$RUN/$name.pid"))"
    return
  fi
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  say "$name started (pid $!)"
}

wait_for() {  # wait_for NAME SECONDS TEST...: until TEST succeeds, or NAME died
  local name="$1" seconds="$2"; shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    pid_alive "$name" || die "$name stopped at start; the end of $LOG/$name.log:
$(tail -20 "$LOG/$name.log" 2>/dev/null)"
    sleep 0.2
  done
  die "$name did not answer in ${seconds} s; see $LOG/$name.log"
}

psql_q() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1 "$@"; }

prepare_files() {
  mkdir -p "$PROD_DIR" "$RUN" "$LOG" "$PROD_DIR/tmp" "$PROD_DIR/nginx" "$PROD_DIR/tls" \
    "$PROD_DIR/media" "$PROD_DIR/mapserver"
  chmod 0700 "$PROD_DIR/tls"
  if [ ! -s "$PROD_DIR/secret_key" ]; then
    (umask 077; "$PY" -c 'from django.core.management.utils import get_random_secret_key as k
print(k() + k())' >"$PROD_DIR/secret_key")
  fi
  if [ ! -s "$PROD_DIR/tls/cert.pem" ]; then
    say "self-signed certificate for ${HOST} and localhost"
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$PROD_DIR/tls/key.pem" -out "$PROD_DIR/tls/cert.pem" 2>/dev/null
  fi
  # nginx's workers run as www-data when it is started as root: they reach gunicorn's
  # socket through the run directory, and nothing else of the stack's.
  local user_line=""
  if [ "$(id -u)" = 0 ]; then
    user_line="user www-data;"
    chgrp www-data "$RUN" && chmod 0750 "$RUN"
  fi
  export LOVKARTA_NGINX_USER_LINE="$user_line" LOVKARTA_PROD_DIR="$PROD_DIR" \
    LOVKARTA_UPSTREAM="unix:${RUN}/gunicorn.sock" LOVKARTA_SERVER_NAME="${HOST} localhost" \
    LOVKARTA_HTTPS_PORT="$HTTPS_PORT" LOVKARTA_HTTPS_LISTEN="${HOST}:${HTTPS_PORT}" \
    LOVKARTA_HTTP_LISTEN="${HOST}:${HTTP_PORT}" LOVKARTA_STATIC_ROOT="$ROOT/var/static" \
    LOVKARTA_TLS_CERT="$PROD_DIR/tls/cert.pem" LOVKARTA_TLS_KEY="$PROD_DIR/tls/key.pem"
  local names
  names='${LOVKARTA_NGINX_USER_LINE} ${LOVKARTA_PROD_DIR} ${LOVKARTA_UPSTREAM}
    ${LOVKARTA_SERVER_NAME} ${LOVKARTA_HTTPS_PORT} ${LOVKARTA_HTTPS_LISTEN}
    ${LOVKARTA_HTTP_LISTEN} ${LOVKARTA_STATIC_ROOT} ${LOVKARTA_TLS_CERT} ${LOVKARTA_TLS_KEY}'
  envsubst "$names" <deploy/nginx/nginx.conf.template >"$PROD_DIR/nginx/nginx.conf"
  envsubst "$names" <deploy/nginx/lovkarta.conf.template >"$PROD_DIR/nginx/lovkarta.conf"
  nginx -t -q -c "$PROD_DIR/nginx/nginx.conf" -p "$PROD_DIR" \
    || die "nginx refuses $PROD_DIR/nginx/nginx.conf (see above)"
}

prepare_database() {
  if [ -z "$(psql_q -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '${DB}'")" ]; then
    say "PostGIS database ${DB}"
    psql_q -d postgres -c "CREATE DATABASE \"${DB}\""
  fi
  psql_q -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS postgis"
}

demo_data() {
  local marker="$PROD_DIR/.demo-loaded-${DB}"
  "$PY" manage.py lovkarta_demo --ogc-url "$LOVKARTA_OGC_URL" \
    --ogc-url-2280 "http://127.0.0.1:${OGC_PORT_2280}/lovkarta"
  if [ "$DEMO" = 1 ] && [ ! -f "$marker" ]; then
    say "demo data: sync of the demo sources, demo cases"
    "$PY" manage.py geodata_sync
    "$PY" manage.py lovkarta_demo_cases -v 1
    touch "$marker"
  fi
}

up() {
  command -v nginx >/dev/null || die "nginx is missing: run WITH_PROD=1 scripts/setup.sh"
  [ -f var/fixtures/sundsvall.gpkg ] && [ -f var/fixtures/harnosand.gpkg ] \
    || die "the demo fixtures are missing: run make fixtures"
  prepare_files
  stack_env
  prepare_database

  # The stand-ins for Lantmäteriet and Boverket (the two municipalities' GIS servers).
  start ogc "$PY" -m fixtures.ogcserver --port "$OGC_PORT" \
    --workdir "$PROD_DIR/mapserver/2281"
  start ogc-2280 "$PY" -m fixtures.ogcserver --port "$OGC_PORT_2280" \
    --data var/fixtures/harnosand.gpkg --workdir "$PROD_DIR/mapserver/2280"
  # Redis of the stack's own, on a socket: no other worker on the machine takes its tasks.
  start redis redis-server --port 0 --unixsocket "$RUN/redis.sock" --unixsocketperm 700 \
    --dir "$PROD_DIR" --save "" --appendonly no
  wait_for ogc 60 curl -fsS "http://127.0.0.1:${OGC_PORT}/health"
  wait_for ogc-2280 60 curl -fsS "http://127.0.0.1:${OGC_PORT_2280}/health"
  wait_for redis 20 redis-cli -s "$RUN/redis.sock" ping

  say "migrate, collectstatic into var/static, demo data"
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py collectstatic --noinput -v 0
  "$PY" manage.py check --deploy --fail-level WARNING -v 0 >/dev/null \
    || die "manage.py check --deploy found problems (run it with the env of: $0 env)"
  demo_data

  start celery "$ROOT/.venv/bin/celery" -A config.celery worker --loglevel INFO \
    --concurrency "$CELERY_CONCURRENCY" --hostname "lovkarta-${DB}@%h" --without-gossip \
    --without-mingle
  start gunicorn "$ROOT/.venv/bin/gunicorn" -c deploy/gunicorn.conf.py
  wait_for gunicorn 60 test -S "$RUN/gunicorn.sock"
  # nginx forks itself off; its own pid file says which process is the master.
  if pid_alive nginx; then
    say "nginx runs already (pid $(cat "$RUN/nginx.pid")); reloading its configuration"
    nginx -c "$PROD_DIR/nginx/nginx.conf" -p "$PROD_DIR" -s reload
  else
    nginx -c "$PROD_DIR/nginx/nginx.conf" -p "$PROD_DIR" 2>>"$LOG/nginx-error.log" \
      || die "nginx did not start; see $LOG/nginx-error.log"
    say "nginx started (pid $(cat "$RUN/nginx.pid"))"
  fi
  wait_for celery 60 "$ROOT/.venv/bin/celery" -A config.celery inspect ping \
    -d "lovkarta-${DB}@$(hostname)" --timeout 2
  wait_for nginx 60 curl -fsS -k -o /dev/null "$URL/konto/logga-in/"
  cat <<BANNER

  Lovkarta runs in production mode at ${URL}/
  (self-signed certificate: $PROD_DIR/tls/cert.pem; demo users as in make run,
   password lovkarta-demo). Logs in $LOG/. Stop with: scripts/prod.sh down

BANNER
}

stop() {  # stop NAME [SIGNAL]: SIGNAL (default TERM), wait up to 30 s, then KILL
  local name="$1" signal="${2:-TERM}" pid
  pid="$(cat "$RUN/$name.pid" 2>/dev/null)" || true
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$RUN/$name.pid"
    return 0
  fi
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { say "$name stopped"; rm -f "$RUN/$name.pid"; return 0; }
    sleep 0.2
  done
  echo "prod.sh: $name (pid $pid) did not stop in 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN/$name.pid"
}

down() {
  # Front to back: no new requests (nginx finishes those under way: QUIT), then the app,
  # the worker (it finishes its task; acks are late), and what they use.
  stop nginx QUIT
  stop gunicorn
  stop celery
  stop redis
  stop ogc
  stop ogc-2280
  rm -f "$RUN/gunicorn.sock" "$RUN/redis.sock"
}

status() {
  local name code=0
  for name in nginx gunicorn celery redis ogc ogc-2280; do
    if pid_alive "$name"; then
      printf '%-9s running (pid %s)\n' "$name" "$(cat "$RUN/$name.pid")"
    else
      printf '%-9s stopped\n' "$name"; code=3
    fi
  done
  if curl -fsS -k -o /dev/null "$URL/konto/logga-in/" 2>/dev/null; then
    echo "site      answers at $URL/"
  else
    echo "site      does not answer at $URL/"; code=3
  fi
  return $code
}

check() {
  local was_running=0 code=0
  pid_alive nginx && was_running=1
  up
  LOVKARTA_PROD_URL="$URL" LOVKARTA_PROD_HTTP_URL="http://${HOST}:${HTTP_PORT}" \
    LOVKARTA_PROD_DIR="$PROD_DIR" "$PY" -m pytest -q -p no:cacheprovider tests/prod \
    || code=$?
  if [ "$was_running" = 0 ]; then down; fi
  return $code
}

case "${1:-}" in
  up) up ;;
  check) check ;;
  down) down ;;
  status) status ;;
  env) prepare_files >/dev/null; stack_env
    for name in DJANGO_SETTINGS_MODULE LOVKARTA_PRODUCTION LOVKARTA_DEBUG SECRET_KEY \
        ALLOWED_HOSTS CSRF_TRUSTED_ORIGINS DATABASE_URL REDIS_URL LOVKARTA_CACHE_URL \
        LOVKARTA_MEDIA_ROOT LOVKARTA_OGC_URL; do
      printf 'export %s=%q\n' "$name" "${!name}"
    done ;;
  url) echo "$URL" ;;
  *) echo "Usage: $0 up|down|status|check|env|url" >&2; exit 2 ;;
esac
