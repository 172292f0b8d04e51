# The two commands of the README: `make demo` and `make test`.
# Everything installs into .venv from pyproject.toml; nothing is needed beforehand but python3.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# basedpyright finds the venv (and the editable install of src/) through PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all test lint typecheck verifytypes unit demo docs bench bench-micro bench-postgres fuzz reliability clean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs,redis]' --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/basedpyright

verifytypes: $(STAMP)
	$(BIN)/basedpyright --verifytypes huey --ignoreexternal

unit: $(STAMP)
	$(BIN)/pytest -m "not slow" -q

test: lint typecheck verifytypes $(STAMP)
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python examples/quickstart/demo.py

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The deserializer fuzz tests with many more examples than make test runs (a few minutes).
fuzz: $(STAMP)
	HUEY_FUZZ_EXAMPLES=5000 $(BIN)/pytest tests/test_security_fuzz.py -q

# Side by side with the original huey 3.5.4 (several minutes; see benchmarks/harness.py).
bench: $(STAMP)
	$(BIN)/python benchmarks/harness.py

bench-micro: $(STAMP)
	$(BIN)/pytest benchmarks -q --benchmark-only

# The reliability battery in deep mode (five seeds, larger runs; minutes, not seconds):
# JSON lines in .reliability/results.jsonl, then the SIGKILL scenario against the
# original huey 3.5.4 from PyPI, in a virtual environment of its own.
RELIABILITY := .reliability
reliability: $(STAMP)
	mkdir -p $(RELIABILITY)
	rm -f $(RELIABILITY)/results.jsonl
	RELIABILITY_MODE=deep RELIABILITY_RESULTS=$(abspath $(RELIABILITY))/results.jsonl \
		$(BIN)/pytest tests/reliability -q -s --timeout=900
	test -x $(RELIABILITY)/huey354/bin/huey_consumer || \
		($(PYTHON) -m venv $(RELIABILITY)/huey354 && \
		 $(RELIABILITY)/huey354/bin/python -m pip install --quiet huey==3.5.4)
	for seed in 1 2 3 4 5; do \
		$(BIN)/python -m tests.reliability.original_huey --seed $$seed \
			--python $(RELIABILITY)/huey354/bin/python \
			--results $(RELIABILITY)/results.jsonl || exit 1; \
	done
	$(BIN)/python -m tests.reliability.summary $(RELIABILITY)/results.jsonl

# PostgreSQL, Redis and SQLite side by side, on private servers (see the script).
bench-postgres: $(STAMP)
	$(BIN)/python -m benchmarks.bench_postgres

clean:
	rm -rf $(VENV) .venv-django6 .bench $(RELIABILITY) docs/_build .pytest_cache .mypy_cache .ruff_cache .hypothesis
