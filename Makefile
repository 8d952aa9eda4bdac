# make install | run | test | lint | bench
# Everything runs from .venv/, built from requirements.lock.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test lint bench

help:
	@echo "make install   create .venv/ and install requirements.lock (only when it changed)"
	@echo "make run       migrate, collect static, seed demo data, start web + worker + beat (PORT=$(PORT))"
	@echo "make test      run the test suite (extra pytest arguments: PYTEST_ARGS='-k refunds')"
	@echo "make lint      ruff check, ruff format --check, missing-migrations check, import direction (lint-imports)"
	@echo "make bench     run every benchmark script under bench/"

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is older than requirements.lock only when the lock changed, so an
# unchanged lock costs nothing. --no-deps: the lock is the complete set.
$(STAMP): requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/python -m pip check --disable-pip-version-check
	@touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/run.py --port $(PORT)

# The browser tests drive the system Chromium: scripts/ensure_chromium.sh
# installs it with apt-get as root, or stops with one line saying what to install.
test: install
	@sh scripts/ensure_chromium.sh
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/mypy

# Each bench/*.py script prints its own figures; they run with the project on
# the import path and the project's settings.
bench: install
	@found=0; for script in bench/[!_]*.py; do \
		[ -e "$$script" ] || continue; \
		found=1; echo "== $$script"; \
		PYTHONPATH="$(CURDIR)" DJANGO_SETTINGS_MODULE=oms.settings $(BIN)/python "$$script" || exit 1; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmark scripts under bench/ yet"
