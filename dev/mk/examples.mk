# Clients people already use (examples/), run against the local stack; included by the main Makefile.
#   make examples               every example, each from its own .venv-examples-<name>
#   make examples ARGS=langchain   one of them (ARGS=--venv: the function on .venv's packages)
PY ?= .venv/bin/python

.PHONY: examples

examples: $(STAMP) ## the Agents SDK, LangChain, smolagents and DSPy examples against the local stack, each in its own venv
	$(PY) -m dev.examples $(ARGS)
