#!/usr/bin/env bash
# Start the demo: the local OGC server, a parcel sync from it, and the web app on :8000.
# Ctrl-C stops everything this script started. Called by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OGC_PORT="${LOVKARTA_OGC_PORT:-8081}"
# Härnösand, the second municipality of the installation, has a GIS server of its own.
OGC_PORT_2280="${LOVKARTA_OGC_PORT_2280:-8082}"
WEB_PORT="${LOVKARTA_WEB_PORT:-8000}"
# The demo shows Django's debug pages and serves static files itself; elsewhere debug is
# off unless LOVKARTA_DEBUG=1 says otherwise.
export LOVKARTA_DEBUG="${LOVKARTA_DEBUG:-1}"
export LOVKARTA_OGC_URL="http://127.0.0.1:${OGC_PORT}/lovkarta"

$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0

WEB_PID=""
$PY -m fixtures.ogcserver --port "$OGC_PORT" &
OGC_PID=$!
$PY -m fixtures.ogcserver --port "$OGC_PORT_2280" --data var/fixtures/harnosand.gpkg &
OGC_PID_2280=$!
# Ctrl-C (or TERM) stops everything this script started. The servers run as background
# jobs, so that `wait` below can be interrupted and the traps run at once.
trap 'kill $WEB_PID "$OGC_PID" "$OGC_PID_2280" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
for port_pid in "${OGC_PORT}:${OGC_PID}" "${OGC_PORT_2280}:${OGC_PID_2280}"; do
  for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:${port_pid%%:*}/health" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${port_pid##*:}" 2>/dev/null; then
      echo "The local OGC server on port ${port_pid%%:*} did not start (see above)." >&2
      exit 1
    fi
    sleep 0.2
  done
done

$PY manage.py lovkarta_demo --ogc-url "$LOVKARTA_OGC_URL" \
  --ogc-url-2280 "http://127.0.0.1:${OGC_PORT_2280}/lovkarta"
$PY manage.py geodata_sync
# Cases in every state in both municipalities (once; a second run finds them there).
$PY manage.py lovkarta_demo_cases -v 2

cat <<BANNER

  Lovkarta is running.
    Open        http://127.0.0.1:${WEB_PORT}/
    Log in as   sokande (applicant), handlaggare (planning officer, Sundsvall),
                beslutsfattare (decision-maker, Sundsvall), handlaggare-harnosand
                (officer, Härnösand), kommunadmin (fee tables) or gis (GIS staff),
                password: lovkarta-demo
    OGC server  ${LOVKARTA_OGC_URL}?SERVICE=WMS&REQUEST=GetCapabilities
                ${LOVKARTA_OGC_URL}/ogcapi/collections
                ${LOVKARTA_OGC_URL%/lovkarta}/wmts?SERVICE=WMTS&REQUEST=GetCapabilities
  Stop with Ctrl-C.

BANNER
$PY manage.py runserver "127.0.0.1:${WEB_PORT}" --noreload &
WEB_PID=$!
wait "$WEB_PID"
