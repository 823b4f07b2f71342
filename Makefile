# The two quickstart commands: `make demo` and `make test`. Each bootstraps .venv from python3 alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml plugins/agentkit-helpdesk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The example's helpdesk tools come from this plugin, through the agentkit.tools entry point.
	$(BIN)/python -m pip install --quiet -e plugins/agentkit-helpdesk
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentkit run examples/customer_service/agents.yaml

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV)
