#!/usr/bin/env bash
# Install what Lovkarta needs and is missing: Debian packages, the virtualenv, npm assets.
# Idempotent; run as root or as a user with sudo. Called by `make deps`.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  gdal-bin libgdal-dev libgeos-dev libproj-dev libsqlite3-mod-spatialite sqlite3
  cgi-mapserver mapserver-bin mapcache-cgi python3-venv python3-dev build-essential
  nodejs npm chromium gettext fonts-dejavu-core libpq5
)
# Redis for background work (and the worker test, which starts its own if none runs).
command -v redis-server >/dev/null || DEB_PACKAGES+=(redis-server)
[ "${WITH_POSTGIS:-0}" = 1 ] && DEB_PACKAGES+=(postgresql-15-postgis-3)
# The production stack on one machine (scripts/prod.sh, `make prod-check`, the load test):
# PostGIS, Debian's nginx in front (run from var/ with its own config, never the system
# service) and openssl for its self-signed certificate.
[ "${WITH_PROD:-0}" = 1 ] && DEB_PACKAGES+=(postgresql-15-postgis-3 nginx openssl)
# QGIS, headless, for the acceptance test of the OGC API at /ogc/ (QGIS as a client).
[ "${WITH_QGIS:-0}" = 1 ] && DEB_PACKAGES+=(python3-qgis qgis-providers)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  # node and npm may come from elsewhere than Debian (nodesource, a machine image).
  case "$pkg" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo ">> Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The virtualenv comes from Debian's Python: it can load SQLite extensions (SpatiaLite).
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
  echo ">> Creating .venv from /usr/bin/python3"
  rm -rf .venv
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo ">> Installing Python packages"
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

lock=node_modules/.installed-$(cat package.json package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
if [ ! -f "$lock" ]; then
  echo ">> Installing front-end assets from the npm registry"
  npm ci --no-audit --no-fund --loglevel=error
  rm -f node_modules/.installed-*
  touch "$lock"
fi

# FlatGeobuf's export kernel, compiled ahead of time (a C extension beside its source,
# rebuilt when the source changes; geodata/exports/fgbkernel.py), and the project's own
# bytecode (commands start sooner where PYTHONDONTWRITEBYTECODE is set).
.venv/bin/python manage.py geodata_compile
.venv/bin/python -m compileall -q config geodata permits emap fixtures >/dev/null

# Translations (Swedish first).
if [ -d locale ]; then
  .venv/bin/python manage.py compilemessages -v 0 --ignore=.venv --ignore=node_modules
fi
