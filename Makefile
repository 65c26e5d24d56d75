# Every target bootstraps .venv by itself; it reinstalls only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB := spectator/web
# kinesis-mock (npm kinesis-local): the second Kinesis the trigger's tests run against.
KINESIS_MOCK := kinesis-mock

.PHONY: local test bench lint package wheel web web-test clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(KINESIS_MOCK)/node_modules/.installed: $(KINESIS_MOCK)/package.json $(KINESIS_MOCK)/package-lock.json
	cd $(KINESIS_MOCK) && npm ci --no-audit --no-fund
	@touch $@

# The race page is built only once it exists (spectator/web/package.json).
ifneq ($(wildcard $(WEB)/package.json),)
web: $(WEB)/node_modules/.installed
	cd $(WEB) && npm run --silent build
web-test: web
	cd $(WEB) && npm run --silent check && npm test --silent
else
web:
web-test:
endif

local: $(STAMP) web
	$(BIN)/tumble local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) lint web-test $(KINESIS_MOCK)/node_modules/.installed
	$(BIN)/python -m pytest

bench: $(STAMP) web
	$(BIN)/tumble bench

# The Lambda artifact serverless.yml ships (package.artifact): dist/tumble-lambda.zip.
package: $(STAMP)
	$(BIN)/tumble package

# A wheel of the whole project (CLI, gateway, producer...) for installing it elsewhere.
wheel: $(STAMP) web
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) dist build *.egg-info $(WEB)/node_modules $(WEB)/dist $(KINESIS_MOCK)/node_modules
