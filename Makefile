# Each target sets itself up: a fresh machine needs nothing but python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: dev test faults bench lint openapi build fire clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## The local stack on http://127.0.0.1:3000 (embedded AWS, real handlers, demo data, /swagger).
## Template parameters: make dev ARGS="--param UpgradePricing=prorata --param QuietHours="
dev: $(STAMP)
	$(PY) -m devstack $(ARGS)

## Debian's Chromium for the Swagger UI browser test (Playwright's own browser download cannot reach its servers
## here); installed once, as root (CI's machines are root), else said how.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "Chromium is missing: sudo apt-get install chromium (until then the browser test is skipped)"; fi

## checkov, the template's security scan, in a virtualenv of its own (its pins clash with ours).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==3.3.30

## The whole suite: lint, the template's security scan (.checkov.yaml: every skip with its reason), template checks,
## unit, integration and end-to-end tests.
test: $(STAMP) $(CHROMIUM) $(CHECKOV)
	$(VENV)/bin/ruff check .
	$(CHECKOV) --config-file .checkov.yaml -f template.yaml
	$(PY) -m pytest -n 2 --dist loadgroup

## Every fault point of tests/integration/test_faults.py (make test runs a sample), with its report.
faults: SHELL := /bin/bash
faults: $(STAMP)
	set -o pipefail; FAULTS=all $(PY) -m pytest tests/integration/test_faults.py -m faults -q -s -p no:logging \
		| grep -v '^{"level"'

## Cold starts, DynamoDB requests per endpoint, payment latency, WhatsApp fan-out, as a Markdown report.
## At a reduced scale by default (under 10 minutes on 2 cores); make bench FULL=1 for the full sizes.
bench: $(STAMP)
	$(PY) -m tools.bench $(if $(filter-out 0,$(FULL)),--full) $(ARGS)

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
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .ruff_cache
