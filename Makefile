# The two commands: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := streams operators sinks llm agent service runtime.py

.PHONY: run test lint typecheck unit bench mutation soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/being run $(if $(CONFIG),--config $(CONFIG),)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy --strict $(PACKAGES) benchmarks

unit: $(VENV)/.installed-dev
	$(BIN)/pytest

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

# The long fault runs (docs/faults.md): thousands of messages, kills, minutes of LLM faults; a summary
# table at the end. `make soak QUICK=1` for a smoke run, `make soak SOAK="kills chaos"` for some.
soak: $(VENV)/.installed-dev
	$(BIN)/python -m soak $(if $(QUICK),--quick,) $(SOAK)

# Mutation testing of operators/ and streams/_inbox.py, each module against its own tests (mutation/config.toml);
# slow, so not part of `make test`. `make mutation MODULES="operators/_circuit_breaker_state.py"` runs only those modules.
mutation: $(VENV)/.installed-dev
	$(BIN)/python mutation/run.py $(MODULES)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
