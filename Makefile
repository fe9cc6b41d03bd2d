# `make run` and `make test` set themselves up: a .venv with the project installed.
# TORCH picks the torch build (e.g. TORCH=torch==2.13.0 for the CPU wheel on these machines); EXTRAS the
# optional dependencies installed with the project (EXTRAS=test,ray for the Ray backend and its tests).
PYTHON ?= python3
TORCH ?= torch
EXTRAS ?= test
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint bench bench-gnubg clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

# The fast suite runs in TEST_WORKERS processes (pytest-xdist; `auto`: one a core), the Ray tests all in
# one of them (one cluster); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

# GNU Backgammon's net (GPL) as an upper yardstick: installed into .bench-gnubg/, apart from the kit.
GNUBG_DIR := .bench-gnubg

$(GNUBG_DIR)/gnubg_nn: | $(STAMP)
	$(BIN)/pip install --quiet --target $(GNUBG_DIR) gnubg-nn

bench-gnubg: $(STAMP) $(GNUBG_DIR)/gnubg_nn
	PYTHONPATH=$(GNUBG_DIR) $(BIN)/python bench/gnubg_yardstick.py

clean:
	rm -rf $(VENV) $(GNUBG_DIR) runs .pytest_cache
