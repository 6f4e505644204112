# paypipe: `make up` runs the pipeline locally, `make test` proves it. `make help` lists targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install up down test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(INSTALLED) ## create .venv and install paypipe with its dev tools

up: $(INSTALLED) ## start Kafka, PostgreSQL, topics, migrations, ingress, processor and sink
	@scripts/up.sh

down: ## stop what `make up` started (data stays under .local/)
	@scripts/down.sh

test: $(INSTALLED) ## the whole suite against real Kafka and PostgreSQL
	@scripts/test.sh

lint: $(INSTALLED) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(INSTALLED) ## benchmarks against the running stack (after `make up`)
	$(BIN)/python -m tests.bench

clean: down ## stop everything and remove .local/ and .venv/
	rm -rf .local $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
