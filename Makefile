# paypipe: `make up` runs the pipeline locally, `make test` proves it. `make help` lists targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install up down test lint audit lock fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Every dependency comes from the hashed lock file; the project itself is installed on top.
$(INSTALLED): pyproject.toml requirements/dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(INSTALLED) ## create .venv and install paypipe with its dev tools

up: $(INSTALLED) ## start Kafka, PostgreSQL, topics, migrations, ingress, processor and sink
	@scripts/up.sh

down: ## stop what `make up` started (data stays under .local/)
	@scripts/down.sh

test: $(INSTALLED) ## the whole suite against real Kafka and PostgreSQL
	@scripts/test.sh

lint: $(INSTALLED) ## ruff, mypy, bandit and pip-audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r schemas ingress processors sinks
	@scripts/audit.sh

audit: $(INSTALLED) ## known-vulnerability audit of the lock file (needs the vulnerability service)
	@scripts/audit.sh --strict

lock: $(INSTALLED) ## re-resolve the lock files from pyproject.toml (upgrade: make lock ARGS=--upgrade)
	$(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		$(ARGS) --extra dev --output-file requirements/dev.lock pyproject.toml
	$(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-find-links \
		$(ARGS) --output-file requirements/runtime.lock pyproject.toml

fuzz: $(INSTALLED) ## a longer fuzz run against the live ingress (5,000 requests, more schemathesis)
	@FUZZ_EXAMPLES=5000 FUZZ_SCHEMATHESIS_EXAMPLES=500 scripts/test.sh tests/e2e/test_ingress_fuzz.py

bench: $(INSTALLED) ## benchmarks against the running stack (after `make up`)
	$(BIN)/python -m tests.bench

clean: down ## stop everything and remove .local/ and .venv/
	rm -rf .local $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
