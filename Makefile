# HITLCrowd: `make run` starts the service with a demo project, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run demo-loop test test-pg lint format migrate demo qcluster bench-ingest clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "HITLCrowd needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	touch $@

install: $(VENV)/.installed

# Development server on SQLite with the demo project and a qcluster beside it.
run: install
	DEBUG=$${DEBUG:-true} HOST=$(HOST) PORT=$(PORT) ./scripts/run-dev

# The same, and a simulated crowd (bench/simulate.py) labels the demo for a few minutes while
# the cluster retrains: watch the model dashboard fill in.
demo-loop: install
	DEBUG=$${DEBUG:-true} HOST=$(HOST) PORT=$(PORT) DEMO_CROWD=1 ./scripts/run-dev

test: install
	SECRET_KEY=$${SECRET_KEY:-insecure-test-key} $(BIN)/pytest $(PYTEST_ARGS)

# The suite on a local PostgreSQL, as CI runs it; the database is created on first use (pytest
# works in test_$(PG_DB)). Only the PostgreSQL-only tests: make test-pg PYTEST_ARGS="-m postgres".
PGHOST ?= 127.0.0.1
PGPORT ?= 5432
PGUSER ?= postgres
PG_DB ?= hitlcrowd_test
PG_ENV := PGHOST=$(PGHOST) PGPORT=$(PGPORT) PGUSER=$(PGUSER)

test-pg: install
	@$(PG_ENV) psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(PG_DB)'" \
		| grep -q 1 || $(PG_ENV) createdb $(PG_DB)
	DATABASE_URL=postgres://$(PGUSER)@$(PGHOST):$(PGPORT)/$(PG_DB) \
		SECRET_KEY=$${SECRET_KEY:-insecure-test-key} $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	DEBUG=$${DEBUG:-true} $(MANAGE) migrate --noinput

clean:
	rm -rf $(VENV) var .pytest_cache
