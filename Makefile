# The README's two commands: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-all bench lint docs clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "Python 3.11+ not found (set PY=/path/to/python3.11)"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sim reproduce all --out results/reproduce
	@echo "Report: results/reproduce/REPORT.md (claims: results/reproduce/claims.csv)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m ''

bench: $(STAMP)
	$(BIN)/sim bench --out results/bench

lint: $(STAMP)
	$(BIN)/ruff check .

docs: $(STAMP)
	$(BIN)/python -m sim.schema > docs/experiment-schema.md

clean:
	rm -rf $(VENV) results .pytest_cache
