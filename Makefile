# The project's commands. `make run` and `make test` are the README's two commands;
# both work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: install run test unit lint clean bench soak lock audit
.DEFAULT_GOAL := help

help:
	@echo "make run     run the function locally through fdk, emulated OCI and a local gateway"
	@echo "             (make run ARGS=--once: one sample request, then exit)"
	@echo "make test    lint, the whole test suite and the Terraform checks"
	@echo "make lint    ruff and mypy only"
	@echo "make bench   the function against the naive baseline: cold start, per-call overhead, memory, size"
	@echo "make soak    10,000-call soak and 10,000-example fuzzers, with their figures"
	@echo "make lock    regenerate the hash-pinned requirements.txt from requirements.in"
	@echo "make audit   pip-audit of the pinned runtime set (needs PyPI's JSON API or OSV)"
	@echo "make clean   remove the virtual environments and caches"

# Runtime dependencies are installed exactly as the image installs them (hashes
# checked); dev tools after them, from their own pinned file.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m dev.local $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: lint terraform-check
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m dev.bench $(ARGS)

soak: $(STAMP)
	SOAK_CALLS=10000 $(PY) -m pytest -s --timeout 3600 tests/reliability/test_soak.py $(PYTEST_ARGS)
	FUZZ_EXAMPLES=10000 $(PY) -m pytest --timeout 3600 tests/fuzz $(PYTEST_ARGS)

lock: $(STAMP)
	$(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	  --output-file requirements.txt requirements.in

# --strict: a package the service cannot look up fails the audit instead of passing unaudited.
audit: $(STAMP)
	$(VENV)/bin/pip-audit --strict --require-hashes --progress-spinner off -r requirements.txt

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .cache

-include dev/mk/*.mk
