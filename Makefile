# Cramp Coach: one place for every command a developer or CI runs.
# `make chat` and `make test` are the README's two commands; both set up what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup chat test lint typecheck unit bench serve package deploy-check lock clean models triage

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Talk to the skill in the terminal, on the embedded defaults (SQLite file under ./data).
chat: setup
	$(BIN)/cramp-coach chat

lint: setup
	$(BIN)/ruff check lambda tests bench tools

typecheck: setup
	$(BIN)/mypy

unit: setup node_modules/.installed
	$(BIN)/pytest

# Everything CI checks: lint, types, unit + integration + end-to-end tests.
test: lint typecheck unit

# Triage quality (issue 20): the vignettes in tests/triage/vignettes/ through real envelopes;
# prints accuracy per level, under- and over-triage, safety violations and every miss.
# Exit 0 for the report; `make triage ARGS=--strict` exits 1 when a target is missed.
triage: setup
	$(BIN)/python -m tests.triage $(ARGS)

# Benchmarks (not part of the tests), measuring the real `sam build` output (deploy-check makes
# it). Speech timing needs espeak-ng (Debian package).
bench: setup node_modules/.installed
	command -v espeak-ng >/dev/null || (apt-get update -qq && apt-get install -y -qq espeak-ng)
	bash tools/sam_build_check.sh
	PYENV_VERSION=$${PYENV_VERSION:-3.13.0:3.11.7} $(BIN)/python -m bench

serve: setup
	$(BIN)/cramp-coach serve

# Rebuild every locale's interaction model from interaction_models/source/ (base.json, the
# sentence grammar grammar.json) + interaction_models/overlays/ (run after changing any of them;
# a test fails while a generated model is stale).
models: setup
	$(BIN)/python tools/build_locale_models.py

# Assemble the ASK CLI skill package (see README "Deploy to AWS"):
#   make package ENDPOINT=<SkillEndpointArn from the SAM outputs>
package: setup
	$(BIN)/python tools/build_skill_package.py --endpoint "$(ENDPOINT)"

deploy-check:
	bash tools/sam_build_check.sh

# Re-resolve the Lambda artifact's dependencies (lambda/requirements.in) into
# lambda/requirements.txt: every package pinned, with hashes, for python3.13 on arm64.
lock: setup
	$(BIN)/uv pip compile --quiet --upgrade --generate-hashes \
	  --python-platform aarch64-manylinux2014 --python-version 3.13 \
	  --custom-compile-command "make lock" \
	  lambda/requirements.in -o lambda/requirements.txt

clean:
	rm -rf $(VENV) node_modules .aws-sam build dist .pytest_cache .mypy_cache .ruff_cache
