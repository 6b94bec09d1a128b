# ordergate developer interface. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.DEFAULT_GOAL := help
.PHONY: help run test test-sqlite lint fmt bench clean chromium

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP)

run: $(STAMP) ## Install, migrate, create the demo organisation on a fresh database, serve on :8000
	$(BIN)/ordergate serve --demo

test: $(DEV_STAMP) chromium ## Install dev dependencies and run the whole suite (SQLite and PostgreSQL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chromium: ## Install Debian's chromium for the console's browser tests, when missing and possible
	@bash .ci/install-chromium

test-sqlite: $(DEV_STAMP) chromium ## Run the suite on SQLite only
	ORDERGATE_TEST_POSTGRES=off $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP) ## ruff and mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(DEV_STAMP) ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## Benchmark intake, reads and a 1M-order import against raw baselines (~30 min; BENCH_QUICK=1: ~3 min)
	$(BIN)/python -m bench.run

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) ordergate.db ordergate.db-wal ordergate.db-shm
