# What users run against their tenancy, included by the main Makefile (-include ops/*.mk).
# docs/deploy.md walks through it.
#   make deploy                 terraform/terraform.tfvars -> a working endpoint (ops/deploy.py); needs
#                               terraform, fn, docker, docker login to OCIR, GENAI_API_KEY for the IAM wait
#   make destroy                the functions, their images, then terraform destroy
#   make smoke URL=... KEY=...  the endpoint called as clients do, each failure explained (ops/smoke.py);
#                               works on `make run`'s gateway too (URL=http://127.0.0.1:8080)
#   make stack                  dist/genai-stack.zip for OCI Resource Manager (ops/stack.py)
#   make usage [ARGS=...]       calls and tokens by client and model from the function's log lines (ops/usage.py);
#                               ARGS=--local reads make run's, --since 7d, --from/--to, --json, --csv
PY ?= .venv/bin/python

.PHONY: deploy destroy smoke stack usage

deploy: $(STAMP) ## terraform/terraform.tfvars → a working endpoint (needs terraform, fn, docker, GENAI_API_KEY)
	$(PY) -m ops.deploy deploy $(ARGS)

destroy: $(STAMP) ## the functions, their images, then terraform destroy
	$(PY) -m ops.deploy destroy $(ARGS)

smoke: $(STAMP) ## the endpoint called as clients do, each failure explained (URL=... KEY=...)
	@test -n "$(URL)" -a -n "$(KEY)" || { echo "usage: make smoke URL=<gateway_url output> KEY=<client API key> [ARGS=--iam-settled]" >&2; exit 2; }
	$(PY) -m ops.smoke --url "$(URL)" --key "$(KEY)" $(ARGS)

stack: $(STAMP) ## dist/genai-stack.zip for OCI Resource Manager
	$(PY) -m ops.stack

usage: $(STAMP) ## calls and tokens by client and model, from the invoke log (ARGS=--local for make run's; --since 7d, --json, --csv)
	$(PY) -m ops.usage $(ARGS)
