# The project's commands. `make run` and `make test` are the README's two commands;
# both work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

# Branch-coverage floor for genai_fn/ and usage_metrics/ together in `make test` (branch = true in pyproject.toml), a
# little under the measured figure (89.83% for genai_fn/ alone, 2026-12-06; in-process tests only: the fdk processes
# integration tests start are not measured).
COV_FLOOR ?= 88

.PHONY: help install run check test lint bench soak lock audit clean
.DEFAULT_GOAL := help

# Every target with a `## ` description, here and in dev/mk/*.mk and ops/*.mk, in the order they are read.
help: ## this list
	@awk -F ':.*## ' '/^[A-Za-z0-9_.-]+:.*## / { printf "make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Runtime dependencies are installed exactly as the image installs them; dev tools after
# them, from their own lock (its shared packages held to requirements.txt's versions). Hashes checked for both.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned runtime and development dependencies

run: $(STAMP) ## the function locally: fdk, emulated OCI, a local gateway (ARGS=--once: one request, exit)
	$(PY) -m dev.local $(ARGS)

lint: $(STAMP) ## ruff check, ruff format --check and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

check: lint ## the fast inner loop: lint, then the unit, authorizer and tripwire tests (no processes, no Terraform)
	$(PY) -m pytest -q -p no:cacheprovider -m "not integration" tests/unit tests/authorizer tests/tripwires $(PYTEST_ARGS)

test: lint terraform-check ## lint, the whole test suite with coverage of genai_fn/ and usage_metrics/, the Terraform checks
	$(PY) -m pytest --cov=genai_fn --cov=usage_metrics --cov-report=term-missing:skip-covered --cov-fail-under=$(COV_FLOOR) $(PYTEST_ARGS)

bench: $(STAMP) ## the function against the naive baseline, the platform's floor and a signing proxy's floor: cold start, per-call overhead, memory, size
	$(PY) -m dev.bench $(ARGS)

soak: $(STAMP) ## 10,000-call soak and 10,000-example fuzzers, with their figures
	SOAK_CALLS=10000 $(PY) -m pytest -s --timeout 3600 tests/reliability/test_soak.py $(PYTEST_ARGS)
	FUZZ_EXAMPLES=10000 $(PY) -m pytest --timeout 3600 tests/fuzz $(PYTEST_ARGS)

# The function's set is resolved for the image's platform only; the others (installed on developers' machines)
# for every platform (--universal), every file's hash of each pinned release listed, extras kept (pip's
# --require-hashes refuses `coverage[toml]` otherwise). Dev tools are held to the
# runtime set's versions, as they are installed beside it.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 --custom-compile-command "make lock"
UNIVERSAL_LOCKS := terraform/requirements-checks.in $(wildcard examples/*/requirements.in)

lock: $(STAMP) ## regenerate every hash-pinned requirements*.txt from its .in (runtime, usage metrics, authorizer, dev, examples, checkov)
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 --output-file requirements.txt requirements.in
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 --constraint requirements.txt --output-file usage_metrics/requirements.txt usage_metrics/requirements.in
	$(UV_COMPILE) --python-platform x86_64-manylinux_2_28 --constraint requirements.txt --output-file authorizer/requirements.txt authorizer/requirements.in
	$(UV_COMPILE) --universal --no-strip-extras --constraint requirements.txt --output-file requirements-dev.txt requirements-dev.in
	for in in $(UNIVERSAL_LOCKS); do $(UV_COMPILE) --universal --no-strip-extras --output-file $${in%.in}.txt $$in || exit 1; done

# --strict: a package the service cannot look up fails the audit instead of passing unaudited.
audit: $(STAMP) ## pip-audit of the pinned runtime set (needs PyPI's JSON API or OSV)
	$(VENV)/bin/pip-audit --strict --require-hashes --progress-spinner off -r requirements.txt

clean: ## remove the virtual environments and caches
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .cache .coverage

-include dev/mk/*.mk ops/*.mk
