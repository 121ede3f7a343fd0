# The files derived from the route table (genai_fn/routes.py ROUTES); included by the main Makefile.
#   make routes   rewrite terraform/routes.json and docs/api.md (tests/unit/test_route_table.py checks them)
PY ?= .venv/bin/python

.PHONY: routes

routes: $(STAMP) ## rewrite terraform/routes.json and docs/api.md from the route table (genai_fn/routes.py)
	$(PY) -m dev.routes_gen
