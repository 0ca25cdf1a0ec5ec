# The README's two commands: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-all bench lint clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 not found; run: make PY=python3 ..."; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sim run experiments/quickstart/mmc.yaml --out results/quickstart
	$(BIN)/sim sweep experiments/quickstart/mmc_sweep.yaml --out results/quickstart_sweep
	@echo "Report: results/quickstart/summary.json and results/quickstart_sweep/ (wait_vs_utilization.png)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m ''

bench: $(STAMP)
	$(BIN)/sim bench --out results/bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) results .pytest_cache
