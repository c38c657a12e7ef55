# exambot — the two commands: `make run` (demo on SQLite with the browser console) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format install browser clean bench

install: $(STAMP)

# What the service needs (make run); the test tools come on top for make test.
$(RUN_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e . --config-settings editable_mode=compat
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]' --config-settings editable_mode=compat
	@touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/exambot demo $(ARGS)

# Debian's Chromium drives the console browser test (Playwright uses it; it downloads no browser).
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian chromium for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# Storage tests run on SQLite and on the PostgreSQL at 127.0.0.1:5432 (.ci/run starts it when it is down).
test: install browser
	$(BIN)/ruff check .
	EXAMBOT_TEST_PG=$${EXAMBOT_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres} $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmarks print their tables (and write tests/bench/*RESULTS.md); then the fuzzers run 10x longer than in CI.
bench: install
	for b in tests/bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	EXAMBOT_FUZZ_EXAMPLES=$${EXAMBOT_FUZZ_EXAMPLES:-100000} $(BIN)/python -m pytest -q \
	  tests/reliability/test_fuzz_commands.py tests/reliability/test_fuzz_callbacks.py

clean:
	rm -rf $(VENV) build *.egg-info exambot-demo.db*
