# ordergate developer interface. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The lock files: every package, pinned with its hashes, for Python 3.11 and later on any platform.
# `make lock` brings them in line with pyproject.toml, `make lock-upgrade` takes the newest releases.
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
COMPILE := $(UV) pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command "make lock"

.DEFAULT_GOAL := help
.PHONY: help run test test-fast test-sqlite lint fmt bench clean chromium lock lock-upgrade lock-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

# Exactly the locked versions (hashes checked), then ordergate itself without dependencies.
$(STAMP): $(RUN_LOCK) pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(RUN_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(DEV_STAMP): $(DEV_LOCK) pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@ $(STAMP)

lock: | $(UV) ## Pin every dependency with hashes (requirements/*.txt) as pyproject.toml asks, keeping current pins
	$(COMPILE) -o $(RUN_LOCK)
	$(COMPILE) --extra dev -o $(DEV_LOCK)

lock-upgrade: | $(UV) ## Refresh the lock files to the newest releases pyproject.toml allows
	$(COMPILE) --upgrade -o $(RUN_LOCK)
	$(COMPILE) --upgrade --extra dev -o $(DEV_LOCK)

lock-check: | $(UV) ## Fail if the lock files do not match pyproject.toml (CI runs it)
	@tmp=$$(mktemp -d) && cp $(RUN_LOCK) $(DEV_LOCK) $$tmp/ && \
	$(COMPILE) -o $$tmp/run.txt && $(COMPILE) --extra dev -o $$tmp/dev.txt && \
	diff -u $(RUN_LOCK) $$tmp/run.txt && diff -u $(DEV_LOCK) $$tmp/dev.txt && rm -r $$tmp || \
	{ echo "the lock files are stale: run make lock and commit requirements/" >&2; exit 1; }

run: $(STAMP) ## Install, migrate, create the demo organisation on a fresh database, serve on :8000
	$(BIN)/ordergate serve --demo

test: $(DEV_STAMP) chromium ## Install dev dependencies and run the whole suite (SQLite and PostgreSQL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chromium: ## Install Debian's chromium for the console's browser tests, when missing and possible
	@bash .ci/install-chromium

test-sqlite: $(DEV_STAMP) chromium ## Run the suite on SQLite only
	ORDERGATE_TEST_POSTGRES=off $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(DEV_STAMP) ## The inner loop: SQLite only, no real server processes or browser, stop at the first failure
	ORDERGATE_TEST_POSTGRES=off $(BIN)/python -m pytest -x -q -m "not slow and not browser" $(PYTEST_ARGS)

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
