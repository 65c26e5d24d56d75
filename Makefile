# Every target bootstraps .venv by itself, from the lock; it reinstalls when the lock changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every extra that make installs (test, which holds the linters, and bench), pinned with hashes
# by `make lock` from pyproject.toml's ranges; see the README's development section.
LOCK := requirements.lock
LOCK_EXTRAS := --extra test --extra bench
LAMBDA_PINS := deploy/lambda-requirements.txt
# uv resolves the lock (only `make lock` needs it, in its own venv); pip installs it.
UV_VERSION := 0.13.9
LOCK_TOOL := .venv-lock
# The canary's throw-away venv: the newest releases pyproject.toml's ranges allow.
LATEST := .venv-latest
WEB := spectator/web
# kinesis-mock (npm kinesis-local): the second Kinesis the trigger's tests run against.
KINESIS_MOCK := kinesis-mock
# The pinned Serverless Framework v3 (no login, no dashboard) that packages and deploys.
DEPLOY := deploy
STAGE ?= dev
REGION ?= $(or $(AWS_REGION),us-east-1)
# serverless 3 + serverless-offline 13, pinned: the gateway benchmark's peer (make bench only).
SLS_OFFLINE := benchmarks/serverless-offline
# Host-mode LocalStack (no Docker): its own venv on Python 3.13 (its pins conflict with ours),
# kinesis-mock installed by LocalStack itself under .localstack/filesystem. Both gitignored.
LOCALSTACK_HOME := .localstack
LOCALSTACK_STAMP := $(LOCALSTACK_HOME)/.installed
LOCALSTACK_PYTHON ?= $(firstword $(foreach p,python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13),$(shell $(p) -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && command -v $(p))))

.PHONY: local test test-latest lock bench lint package wheel web web-test deploy remove clean

# Exactly the lock's versions (hashes checked), then the project itself without resolving again.
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Re-resolves the lock from pyproject.toml's ranges, held to the Lambda artifact's pins (what
# ships and what the suite runs must agree, tests/test_lock.py): run `make test-latest` first.
lock:
	@test -x $(LOCK_TOOL)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOL) && \
		$(LOCK_TOOL)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'; }
	$(LOCK_TOOL)/bin/uv pip compile pyproject.toml $(LOCK_EXTRAS) --universal \
		--python-version 3.11 --generate-hashes --constraint $(LAMBDA_PINS) --upgrade --quiet --output-file $(LOCK)

# The canary: a fresh venv with the newest releases the ranges allow (not the lock), then the
# suite. What tomorrow's `make lock` would install, tried today; it prints what it ran.
test-latest: web-test $(KINESIS_MOCK)/node_modules/.installed $(DEPLOY)/node_modules/.installed $(LOCALSTACK_STAMP)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test,bench]'
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/versions.txt
	@echo "test-latest: the versions under test are in $(LATEST)/versions.txt"
	$(LATEST)/bin/python -m pytest

$(WEB)/node_modules/.installed: $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(KINESIS_MOCK)/node_modules/.installed: $(KINESIS_MOCK)/package.json $(KINESIS_MOCK)/package-lock.json
	cd $(KINESIS_MOCK) && npm ci --no-audit --no-fund
	@touch $@

$(DEPLOY)/node_modules/.installed: $(DEPLOY)/package.json $(DEPLOY)/package-lock.json
	cd $(DEPLOY) && npm ci --no-audit --no-fund
	@touch $@

# Without Node the gateway benchmark says why the serverless-offline column is missing.
$(SLS_OFFLINE)/node_modules/.installed: $(SLS_OFFLINE)/package.json $(SLS_OFFLINE)/package-lock.json
	@if command -v npm >/dev/null; then cd $(SLS_OFFLINE) && npm ci --no-audit --no-fund && touch node_modules/.installed; \
	else echo "npm not found: the gateway benchmark will skip serverless-offline"; fi

# Without Python 3.13 the LocalStack tests and race lap skip, saying so; BACKEND=localstack then
# needs Docker.
$(LOCALSTACK_STAMP): localstack/requirements.txt
	@if [ -z "$(LOCALSTACK_PYTHON)" ]; then echo "no Python 3.13 found: host-mode LocalStack not installed"; else \
	  set -e; rm -rf $(LOCALSTACK_HOME)/venv; $(LOCALSTACK_PYTHON) -m venv $(LOCALSTACK_HOME)/venv; \
	  $(LOCALSTACK_HOME)/venv/bin/python -m pip install --quiet -r localstack/requirements.txt; \
	  OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT=$(LOCALSTACK_HOME)/filesystem \
	    $(LOCALSTACK_HOME)/venv/bin/python -m localstack.cli.lpm install kinesis-mock; \
	  touch $@; fi

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

local: $(STAMP) web $(if $(filter localstack,$(BACKEND)),$(LOCALSTACK_STAMP))
	$(BIN)/tumble local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) lint web-test $(KINESIS_MOCK)/node_modules/.installed $(DEPLOY)/node_modules/.installed $(LOCALSTACK_STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP) web $(SLS_OFFLINE)/node_modules/.installed $(LOCALSTACK_STAMP)
	$(BIN)/tumble bench

# The Lambda artifact serverless.yml ships (package.artifact): dist/tumble-lambda.zip.
package: $(STAMP)
	$(BIN)/tumble package

# Checks credentials, the stage's token secret and the Framework, builds the artifact, ships it.
deploy: $(STAMP) $(DEPLOY)/node_modules/.installed
	$(BIN)/tumble deploy --stage $(STAGE) --region $(REGION)

remove: $(STAMP) $(DEPLOY)/node_modules/.installed
	$(BIN)/tumble remove --stage $(STAGE) --region $(REGION)

# A wheel of the whole project (CLI, gateway, producer...) for installing it elsewhere.
wheel: $(STAMP) web
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) $(LATEST) $(LOCK_TOOL) dist build *.egg-info $(WEB)/node_modules $(WEB)/dist $(KINESIS_MOCK)/node_modules \
		$(DEPLOY)/node_modules $(SLS_OFFLINE)/node_modules .serverless $(LOCALSTACK_HOME)
