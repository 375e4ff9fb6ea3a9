# The two commands a newcomer needs (see README.md):
#   make demo   install into .venv, simulate a small EEG-fMRI BIDS dataset and extract its training pairs
#   make test   install into .venv (with test extras), check the import layers
#               (lint-imports, contracts in pyproject.toml) and run the test suite
# torch is pinned to the CPU build that is available offline on our machines; use your own
# torch build (for example a CUDA one) by installing it into .venv before running these targets.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
DEMO_DIR ?= demo_output

.PHONY: demo test install install-dev lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[dev]"

demo: install
	$(BIN)/python -m eeg2fmri.demo $(DEMO_DIR)

test: install-dev
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2

lint: install-dev
	$(BIN)/ruff check .

docs: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -b html docs docs/_build/html

clean:
	rm -rf $(VENV) $(DEMO_DIR) docs/_build docs/auto_examples
