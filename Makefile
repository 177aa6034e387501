# lendguard: `make demo` and `make test` work on a fresh machine with Python 3.11+ and Node.js.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup demo test test-fast lint format bench synth clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	sh scripts/ensure-chromium.sh

demo: setup
	$(BIN)/lendguard demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every suite, in a random order (pytest-randomly; the seed is printed in the header): no test may
# rely on another having run first. Replay an order with `make test SEED=<seed>`.
RANDOM_ORDER = -p randomly $(if $(SEED),--randomly-seed=$(SEED))

test: lint
	$(BIN)/pytest -q -n 2 --dist loadfile $(RANDOM_ORDER)

# Unit tests only: seconds, no moto, no CDK, no model training (tests/training trains).
test-fast: setup
	$(BIN)/pytest -q tests/unit $(RANDOM_ORDER)

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python bench/decision.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/batch.py

synth: setup
	npx --yes aws-cdk@2.1148.1 synth -c env=dev --quiet

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .ruff_cache .hypothesis .lendguard
