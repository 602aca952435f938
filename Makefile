# leadstream: `make run` runs the sample end to end, `make test` passes the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: help install up down status run worker test unit integration lint typecheck check schemas bench clean

help:
	@echo "make run        start Kafka + PostgreSQL, migrate, import examples/contacts.csv, print counts"
	@echo "make test       unit + integration tests (starts the local servers when needed)"
	@echo "make up / down  start / stop the local Kafka broker and PostgreSQL"
	@echo "make check      lint + typecheck + tests;  make bench  the 1M-row benchmark"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(STAMP)

up: install
	bash scripts/servers.sh up
	$(BIN)/leadstream migrate
	$(BIN)/leadstream topics create

down:
	bash scripts/servers.sh down

status:
	bash scripts/servers.sh status

run: up
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run-sample.sh

worker: up
	$(BIN)/leadstream worker

test: install
	$(BIN)/pytest tests

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

lint: install
	$(BIN)/ruff check streams schemas processors tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

schemas: install
	$(BIN)/python -m schemas.generate

bench: up
	$(BIN)/python -m bench $(if $(N),--rows $(N),)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
