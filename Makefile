# make run  : create .venv if missing, install, render the demo fleet (dev) to stdout
# make test : create .venv if missing, install, run ruff, mypy --strict and pytest
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ENV ?= dev
CLUSTER ?=

.PHONY: run test lint types unit bench clean

# Set-up steps log to stderr, so `make run` prints YAML only on stdout.
$(BIN)/python:
	@echo "creating $(VENV)" >&2
	@$(PY) -m venv $(VENV) >&2

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing skipper-render (editable) into $(VENV)" >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >&2
	@$(BIN)/python -m compileall -q skipper_render plugin >&2
	@touch $(STAMP)

run: $(STAMP)
	@$(BIN)/skipper render fixtures/valid/demo --env $(ENV) $(if $(CLUSTER),--cluster $(CLUSTER))

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
