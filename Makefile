# The project's commands. `make run` and `make test` are the README's two commands;
# both work on a fresh machine: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

# Branch-coverage floor for genai_fn/ and usage_metrics/ together in `make test` (branch = true in pyproject.toml), a
# little under what the suite measures (make test prints it; in-process tests only: the fdk processes integration
# tests start are not measured).
COV_FLOOR ?= 88
# `make test`'s parts run side by side (make -j, up to TEST_JOBS at once), the suite across PYTEST_WORKERS processes
# (auto: one per core; 0: in this process, serially).
TEST_JOBS ?= 6
PYTEST_WORKERS ?= auto
TEST_TIMES := .cache/make-test/times

.PHONY: help install run check test test-suite test-envs lint bench soak lock audit clean
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
	$(call part_done,$(VENV))

install: $(STAMP) ## create .venv with the pinned runtime and development dependencies

run: $(STAMP) ## the function locally: fdk, emulated OCI, a local gateway (ARGS=--once: one request, exit)
	$(PY) -m dev.local $(ARGS)

lint: $(STAMP) ## ruff check, ruff format --check and mypy
	$(call part_start)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(call part_done,$@)

check: lint ## the fast inner loop: lint, then the unit, authorizer and tripwire tests (no processes, no Terraform)
	$(PY) -m pytest -q -p no:cacheprovider -m "not integration" tests/unit tests/authorizer tests/tripwires $(PYTEST_ARGS)

# The parts side by side in one make (so .venv is installed once): -k runs every part even when one fails, so that
# the log shows every failure; -Otarget prints each part's output whole when the part ends, except the suite's, whose
# recipe line starts with + (make does not hold a recursive line's output) so that its progress shows as it runs.
# TEST_T0 makes each part write the second it ended into $(TEST_TIMES), which closes the log.
test: ## lint, the whole suite with coverage of genai_fn/ and usage_metrics/, the Terraform checks: side by side
	@rm -f $(TEST_TIMES) && mkdir -p $(dir $(TEST_TIMES))
	@t0=$$(date +%s); $(MAKE) --no-print-directory -k -j$(TEST_JOBS) -Otarget TEST_T0=$$t0 \
		$(STAMP) lint terraform-check test-envs test-suite; rc=$$?; \
		echo "make test: $$(( $$(date +%s) - t0 )) s in all$$([ $$rc = 0 ] || echo ", FAILED"); each part ended at (s):"; \
		sort -n -k2 $(TEST_TIMES) 2>/dev/null | awk '{ printf "  %5d  %s\n", $$2, $$1 }'; exit $$rc

test-suite: $(STAMP) ## the whole suite with coverage, across pytest workers (PYTEST_WORKERS=0: serially)
	+$(PY) -m pytest -n $(PYTEST_WORKERS) --cov=genai_fn --cov=usage_metrics --cov-report=term-missing:skip-covered --cov-fail-under=$(COV_FLOOR) $(PYTEST_ARGS)
	$(call part_done,$@)

# The tests that use them wait for a build under way (a lock each) and run last (tests/conftest.py).
test-envs: $(STAMP) ## build (or reuse) what the suite installs: each example's venv, the image's dependency folders
	$(call part_start)
	$(PY) -m dev.image_site & site=$$!; $(PY) -m dev.examples --build-only; built=$$?; wait $$site && exit $$built
	$(call part_done,$@)

# Under `make test`: a new line where a part's output starts (the suite's progress line may be half written), and
# a part's name ($(1)) with the second it ended, after the run's start.
part_start = $(if $(TEST_T0),@echo)
part_done = $(if $(TEST_T0),@echo "$(1) $$(( $$(date +%s) - $(TEST_T0) ))" >> $(TEST_TIMES))

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
