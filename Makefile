PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck bench run clean bytecode

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP) bytecode

# An editable install leaves the package uncompiled, and with PYTHONDONTWRITEBYTECODE set every
# process would compile it again (a third of replay's start-up); stale files are ignored.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q detector

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check detector tests benchmarks
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check detector tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) bytecode
	$(BIN)/python benchmarks/run_all.py

run: $(STAMP) bytecode
	$(BIN)/detector replay -r rules/ examples/demo-events.jsonl

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
