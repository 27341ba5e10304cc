# The two commands: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := streams operators sinks llm agent service runtime.py

.PHONY: run test lint typecheck unit bench mutation soak container-test clean

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

# Four workers, a test file each at a time (a file's fixtures, such as its browser, stay on one worker).
unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 4 --dist loadfile

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

# The image built from the unchanged Dockerfile and run by a real engine (tests/container, docs/container.md).
# Starts dockerd when no engine answers (root, Debian's docker.io) and makes a stand-in of the base image when
# it is missing (docker/standin-base.sh: debootstrap). BUILD_CA: a CA bundle pip trusts in the build stage
# only (default $$PIP_CERT). NO_CACHE=1 for a cold build.
BUILD_CA ?= $(PIP_CERT)
container-test: $(VENV)/.installed-dev
	BEING_CONTAINER_TEST=1 BEING_BUILD_CA=$(BUILD_CA) $(if $(NO_CACHE),BEING_CONTAINER_NO_CACHE=1,) \
		$(BIN)/pytest tests/container

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
