# The two quickstart commands: `make demo` and `make test`. Each bootstraps .venv from python3 alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Three stamps, each adding to the base, so `make test` after `make demo` adds the extras:
# the base is the package and the helpdesk plugin, all `make demo` needs (no dev extras);
# STAMP adds the dev extra (lint, types, tests); DOCS_STAMP the docs extra (mkdocs).
BASE_STAMP := $(VENV)/.base-stamp
STAMP := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-stamp
# The strict docs build goes inside .venv, which git ignores and `make clean` removes.
SITE := $(VENV)/site

.PHONY: demo test lint typecheck pytest docs docs-serve bench mutate clean

$(BASE_STAMP): pyproject.toml plugins/agentkit-helpdesk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# The example's helpdesk tools come from this plugin, through the agentkit.tools entry point.
	$(BIN)/python -m pip install --quiet -e plugins/agentkit-helpdesk
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP) plugins/agentkit-pii/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The guardrail plugin the tests load through the agentkit.guardrails entry point.
	$(BIN)/python -m pip install --quiet -e plugins/agentkit-pii
	touch $(STAMP)

$(DOCS_STAMP): $(BASE_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_STAMP)

demo: $(BASE_STAMP)
	$(BIN)/agentkit run examples/customer_service/agents.yaml

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

# Any warning (a broken link, a docstring mkdocstrings cannot render) fails the build.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(SITE)

docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

test: lint typecheck pytest docs

# Mutation testing of the runtime core, module by module against its own tests (minutes per
# module; not part of `make test`). One module: `make mutate MODULES=agentkit/history.py`;
# options (`--survivors`, `--sample 0` for every mutant): `make mutate ARGS=--survivors`.
MODULES ?=
ARGS ?=
mutate: $(STAMP)
	$(BIN)/python bench/mutate.py $(ARGS) $(MODULES)

clean:
	rm -rf $(VENV)
