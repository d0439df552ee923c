# Replenish: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo up test test-unit test-integration chaos lint bench schemas clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/replenish up --demo

up: install
	$(BIN)/replenish up

test: install
	$(BIN)/python -m pytest -q -ra -m "not chaos"

test-unit: install
	$(BIN)/python -m pytest -q -m "not integration and not e2e and not chaos"

# Fault injection and fuzzing (docs/reliability.md): every test marked `chaos`, wherever it lives.
chaos: install
	$(BIN)/python -m pytest -q -ra -s -m chaos

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/replenish bench all

schemas: install
	$(BIN)/replenish schemas --out docs/schemas

clean:
	rm -rf .replenish .pytest_cache
