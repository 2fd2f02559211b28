# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two steps: what running unidir needs (requirements.lock), then the development and test
# tools (requirements-dev.lock). `make run` installs only the first.
RUNTIME := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit postgres install clean

$(RUNTIME): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

run: $(RUNTIME)
	$(BIN)/unidir demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

# The store-touching tests again on PostgreSQL. Under CI=true this pass always runs (an
# unreachable database fails it); elsewhere it runs when UNIDIR_TEST_POSTGRES_URL is set.
postgres: $(STAMP)
	@if [ -n "$$UNIDIR_TEST_POSTGRES_URL" ] || [ "$$CI" = "true" ]; then \
	  UNIDIR_TEST_DATABASE_URL="$${UNIDIR_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}" \
	  $(BIN)/pytest -m db; \
	else echo "PostgreSQL pass skipped: set UNIDIR_TEST_POSTGRES_URL to run it"; fi

test: lint typecheck unit postgres

clean:
	rm -rf $(VENV) .unidir .pytest_cache .mypy_cache .ruff_cache
