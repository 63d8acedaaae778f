# PosyanduGo: `make run` (server on SQLite with demo data) and `make test` (SQLite, then PostgreSQL).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := posyandu

.PHONY: run test test-sqlite test-postgres bench install clean

$(BIN)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	BIN=$(BIN) scripts/dev-run.sh

test: $(BIN)/.installed
	scripts/run-tests.sh

test-sqlite: $(BIN)/.installed
	TEST_DB=sqlite $(BIN)/pytest -n 2 -q

test-postgres: $(BIN)/.installed
	TEST_DB=postgresql $(BIN)/pytest -n 2 -q

bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache
