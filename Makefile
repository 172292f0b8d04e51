# The two commands of the README: `make demo` and `make test`.
# Everything installs into .venv from pyproject.toml; nothing is needed beforehand but python3.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# basedpyright finds the venv (and the editable install of src/) through PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all test lint typecheck verifytypes unit demo docs bench fuzz clean

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

bench: $(STAMP)
	$(BIN)/pytest benchmarks -q --benchmark-only

clean:
	rm -rf $(VENV) .venv-django6 docs/_build .pytest_cache .mypy_cache .ruff_cache .hypothesis
