# Two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
# The Procfile's commands (gunicorn, flask) are the virtualenv's.
VENV_PATH := PATH="$(CURDIR)/$(BIN):$$PATH"

.PHONY: demo test lint install browser seed serve clean worker scan

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Outside debug the site will not start without SITE_URL and SECRET_KEY. Locally: this
# address, and a random key made once and kept in instance/ (so sessions survive restarts).
# `make demo` serves on PORT (PORT=8000 make demo, or make demo PORT=8000).
PORT ?= 5000
SITE_URL ?= http://127.0.0.1:$(PORT)
KEY_FILE := instance/secret_key
LOCAL_ENV = SITE_URL='$(SITE_URL)' SECRET_KEY="$$(cat $(KEY_FILE))"

$(KEY_FILE): | $(BIN)/python
	mkdir -p instance
	umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_hex(32))' > $@

## demo: install, migrate a SQLite database under instance/, seed the demo organisation, serve it on PORT (default 5000).
demo: install $(KEY_FILE)
	$(LOCAL_ENV) $(FLASK) db upgrade
	$(LOCAL_ENV) $(FLASK) seed-demo
	$(LOCAL_ENV) COOKIE_SECURE=0 $(FLASK) run --host 127.0.0.1 --port $(PORT)

## browser: Debian's Chromium, which the browser tests drive through Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

## scan: wapiti and sqlmap (Debian's) against a signed-in local server on a fresh demo
## database, as the admin by default (SCAN_AS=apprentice for another); reports in SCAN_OUT.
scan: SCAN_AS ?= admin
scan: SCAN_OUT ?= test-artifacts/security-scan
scan: install
	@(command -v wapiti >/dev/null 2>&1 && command -v sqlmap >/dev/null 2>&1) || (apt-get update -qq && apt-get install -y -qq wapiti sqlmap >/dev/null)
	$(BIN)/python -m benchmarks.security --as $(SCAN_AS) --out $(SCAN_OUT) $(SCAN_ARGS)

## test: install what the suite needs and run all of it (TEST_DATABASE_URL picks the database, PYTEST_ARGS narrows it).
# Much of the suite's time is spent waiting on the processes tests start (gunicorn, workers,
# browsers, servers), so it runs in TEST_WORKERS processes (pytest-xdist) even on two cores;
# TEST_WORKERS=0 runs it in one. Each test goes to the next free worker, except that tests
# sharing a module's set-up stay in one (tests/conftest.py groups them for --dist loadgroup).
# The tests that time a run needing the processor (marked wall_clock) come after, alone; the
# second pytest finding none of them to run (exit status 5) is not a failure. TIMED_TESTS=no
# leaves them out (.ci/run's PostgreSQL pass, whose selection holds none of them, saves
# collecting the suite again to find that).
TEST_WORKERS ?= 4
TIMED_TESTS ?= yes
test: install browser
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup --wall-clock=skip $(PYTEST_ARGS)
ifneq ($(TIMED_TESTS),no)
	$(BIN)/pytest -q --wall-clock=only $(PYTEST_ARGS) || [ $$? -eq 5 ]
endif

## lint: ruff's rules (pyproject.toml) and its formatting, over everything in the repository.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## worker: run queued round runs and round mail from the Redis queue at REDIS_URL (default local db 0).
worker: REDIS_URL ?= redis://127.0.0.1:6379/0
worker: install $(KEY_FILE)
	$(LOCAL_ENV) REDIS_URL='$(REDIS_URL)' $(FLASK) rounds worker

# GNU make (4.3) stops passing an environment variable to recipes once a target-specific value
# is declared for it, as worker's just above; exported after it, `make serve` sees REDIS_URL.
ifdef REDIS_URL
export REDIS_URL
endif

## serve: the production stack here, in the foreground: refuses to start without SECRET_KEY,
## SITE_URL, a PostgreSQL DATABASE_URL and REDIS_URL (naming each), migrates, then runs the
## Procfile's web (gunicorn on PORT), WORKERS job workers (default 2) and the scheduler; Ctrl-C
## stops them all. Settings come from the environment or a .env file beside the Procfile.
serve: WORKERS ?= 2
serve: install
	$(VENV_PATH) $(BIN)/honcho run python -m mentor_match.operations.settings
	$(VENV_PATH) $(BIN)/honcho run flask --app wsgi db upgrade
	$(VENV_PATH) exec $(BIN)/honcho start --port $(PORT) --concurrency worker=$(WORKERS) \
		web worker scheduler

clean:
	rm -rf $(VENV) instance .pytest_cache
