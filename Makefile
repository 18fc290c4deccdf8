# make run  : create .venv if missing, install, render the demo fleet (dev) to stdout
# make test : create .venv if missing, install, run ruff, mypy --strict and pytest
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENV ?= dev

.PHONY: run test lint types unit bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q skipper_render plugin
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/skipper render fixtures/valid/demo --env $(ENV)

lint: $(STAMP)
	$(BIN)/ruff check skipper_render plugin tests bench
	$(BIN)/ruff format --check skipper_render plugin tests bench

types: $(STAMP)
	$(BIN)/mypy skipper_render plugin/skipper_plugin

unit: $(STAMP)
	$(BIN)/pytest

test: lint types unit

bench: $(STAMP)
	$(BIN)/python bench/run.py --instructions

clean:
	rm -rf $(VENV) build *.egg-info plugin/*.egg-info
