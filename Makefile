# Lovkarta: `make run` starts the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PY := .venv/bin/python
FIXTURE := var/fixtures/sundsvall.gpkg
FIXTURE_2280 := var/fixtures/harnosand.gpkg

.PHONY: run test deps fixtures lint bench clean backup restore prod-deps prod-up prod-down \
	prod-status prod-check bench-load

run: deps fixtures
	@scripts/run.sh

test: deps fixtures
	$(PY) -m pytest $(PYTEST_ARGS)

deps:
	@scripts/setup.sh

fixtures: $(FIXTURE) $(FIXTURE_2280)

$(FIXTURE): fixtures/generate.py
	$(PY) fixtures/generate.py --out $(FIXTURE)

$(FIXTURE_2280): fixtures/generate.py
	$(PY) fixtures/generate.py --municipality 2280 --out $(FIXTURE_2280)

lint: deps
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/lint-imports

bench: deps fixtures
	WITH_POSTGIS=1 WITH_PROD=1 scripts/setup.sh
	$(PY) bench/run.py $(BENCH_ARGS)

# The production stack on this machine (scripts/prod.sh): PostGIS, Redis, a Celery worker,
# gunicorn and nginx with TLS at https://127.0.0.1:8443/, everything under var/prod/.
prod-deps: deps fixtures
	@WITH_PROD=1 scripts/setup.sh

prod-up: prod-deps
	@scripts/prod.sh up

prod-down:
	@scripts/prod.sh down

prod-status:
	@scripts/prod.sh status

# Start the stack, drive the browser path against it (tests/prod/), stop it again.
prod-check: prod-deps
	@scripts/prod.sh check

# The load test (Locust) against the production stack on PostGIS with 1M parcels.
bench-load: prod-deps
	$(PY) bench/load.py $(LOAD_ARGS)

# One tar of the database and the media files (FILE=... to name it; default var/backups/).
backup: deps
	$(PY) manage.py lovkarta_backup $(FILE)

# Restore FILE into an empty database (RESTORE_ARGS=--force to replace what is there).
restore: deps
	@test -n "$(FILE)" || { echo "Usage: make restore FILE=var/backups/lovkarta-....tar" >&2; exit 2; }
	$(PY) manage.py lovkarta_restore "$(FILE)" $(RESTORE_ARGS)

clean:
	rm -rf var/static var/test-*.sqlite3 var/fixtures
