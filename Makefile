# Each target sets itself up: a fresh machine needs nothing but python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: dev test bench lint openapi build fire clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## The local stack on http://127.0.0.1:3000 (embedded AWS, real handlers, demo data, /swagger).
dev: $(STAMP)
	$(PY) -m devstack

## The whole suite: lint, template checks, unit, integration and end-to-end tests.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup

## Cold starts and DynamoDB requests per endpoint, printed as a Markdown table.
bench: $(STAMP)
	$(PY) -m tools.bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/cfn-lint template.yaml

## Rewrite openapi.json from the handlers (a test keeps the committed file equal to this).
openapi: $(STAMP)
	$(PY) -m tools.openapi

## Deployment artifact: build/layer = shared/ + dependencies for the template's runtime (python3.12, arm64).
build: $(STAMP)
	$(PY) -m tools.build_layer

## Fire a schedule of the running `make dev` now, e.g. make fire SCHEDULE=OverdueInvoicesFunction
fire:
	curl -s -X POST http://127.0.0.1:3000/local/schedules/$(SCHEDULE); echo

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
