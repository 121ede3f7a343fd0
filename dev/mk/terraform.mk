# Terraform and authorizer glue, included by the main Makefile (-include dev/mk/*.mk ops/*.mk).
#   make terraform-check   terraform fmt -check + checkov + terraform-run
#   make terraform-run     init, validate and `terraform test` with the real OCI provider (dev/terraform_checks.py)
#   make terraform-test    the static Terraform tests and the authorizer tests
#   make api-key NAME=x    new API key for client x: prints it once, and its hash lines
PY ?= .venv/bin/python
PYTHON ?= python3
TF_DIR := terraform
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: terraform-check terraform-fmt checkov terraform-run terraform-test api-key

$(CHECKOV_STAMP): $(TF_DIR)/requirements-checks.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(TF_DIR)/requirements-checks.txt
	touch $@
	$(call part_done,$(CHECKOV_VENV))

terraform-check: terraform-fmt checkov terraform-run ## terraform fmt -check, checkov, and the configuration run by Terraform (terraform-run)
	$(call part_done,$@)

terraform-fmt: ## terraform fmt -check (skipped, visibly, where terraform is not installed)
	@if command -v terraform >/dev/null 2>&1; then \
		terraform fmt -check -recursive -diff $(TF_DIR) && echo "terraform fmt: clean"; \
	else \
		echo "terraform-check: terraform is not installed: SKIPPING terraform fmt -check"; \
	fi

# --skip-download: no network for Prisma Cloud guidelines; results are the same checks.
checkov: $(CHECKOV_STAMP) ## checkov's static policy checks of terraform/
	$(call part_start)
	$(CHECKOV_VENV)/bin/checkov -d $(TF_DIR) --framework terraform --compact --quiet --skip-download
	$(call part_done,$@)

# terraform/ and the Resource Manager zip: init, validate, terraform test (mocked
# provider, plan and apply runs). Provider from ../shared's offline mirror when it
# is there, else the registry; one visible line when neither works.
terraform-run: $(STAMP) ## terraform init + validate + test on terraform/ and on the stack zip (real provider, mocked API)
	$(call part_start)
	$(PY) -m dev.terraform_checks
	$(call part_done,$@)

terraform-test: ## the static Terraform tests and the authorizer tests
	$(PY) -m pytest -q tests/terraform tests/authorizer

api-key: ## new API key for a client (NAME=x): prints it once, and its hash lines
	@test -n "$(NAME)" || { echo "usage: make api-key NAME=<client>" >&2; exit 2; }
	@$(PYTHON) authorizer/keys.py new "$(NAME)"
