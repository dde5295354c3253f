# Hokan — one command to run, one to test. Needs only Python 3.11+.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= auto

.PHONY: run test lint fmt docs bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hokan init
	$(BIN)/hokan serve

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

docs: $(STAMP)
	$(BIN)/python -m hokan.cli.docs README.md

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/identity.py
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/edge.py
	$(BIN)/python bench/ips_attachments.py
	$(BIN)/python bench/waf.py
	$(BIN)/python bench/monitoring.py
	$(BIN)/python bench/availability.py
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/backup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
