# Tsela: two commands on a fresh machine with Python 3.11+.
#   make demo   set up, create a demo database with synthetic data, serve it
#   make test   set up, lint, make ready what the tests need beyond Python (Chromium,
#               poppler-utils, PostgreSQL and its client: scripts/bootstrap-test.sh installs
#               them with apt-get when root, else names what is missing), run every test

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint install bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Tsela needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/tsela demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: lint
	scripts/bootstrap-test.sh
	$(BIN)/python -m pytest -n 2 -q

bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@echo "benchmarks: see bench/*.py and docs/benchmarks.md"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
