# The project's commands. `make run` and `make test` are the README's two commands;
# both work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: install run test unit lint clean
.DEFAULT_GOAL := help

help:
	@echo "make run     run the function locally through fdk, emulated OCI and a local gateway"
	@echo "             (make run ARGS=--once: one sample request, then exit)"
	@echo "make test    lint, the whole test suite and the Terraform checks"
	@echo "make lint    ruff and mypy only"
	@echo "make clean   remove the virtual environments and caches"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m local $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint terraform-check
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache

-include mk/*.mk
