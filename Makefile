# Cramp Coach: one place for every command a developer or CI runs.
# `make chat` and `make test` are the README's two commands; both set up what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup chat test lint typecheck unit bench serve package deploy-check lock clean models triage docs

setup: $(VENV)/.installed

# Every dev and CI tool comes from requirements/dev.txt (pinned, with hashes; `make lock`), then
# the package itself, editable, with nothing else fetched.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
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
	$(BIN)/python tools/build_listing.py

# Assemble the ASK CLI v2 project in build/skill (docs/deploy.md), then `cd build/skill && ask deploy`:
#   make package ENDPOINT=<SkillEndpointArn> PRIVACY_URL=https://... TERMS_URL=https://... \
#     [SKILL_ID=amzn1.ask.skill...] [ENDPOINT_NA=<arn>] [ENDPOINT_EU=<arn>] [ENDPOINT_FE=<arn>]
#     [OUT=<folder>, default build/skill]
package: setup
	$(BIN)/python tools/build_skill_package.py \
	  $(if $(ENDPOINT),--endpoint "$(ENDPOINT)") \
	  $(if $(PRIVACY_URL),--privacy-url "$(PRIVACY_URL)") \
	  $(if $(TERMS_URL),--terms-url "$(TERMS_URL)") \
	  $(if $(SKILL_ID),--skill-id "$(SKILL_ID)") \
	  $(if $(OUT),--out "$(OUT)") \
	  $(foreach r,NA EU FE,$(if $(ENDPOINT_$(r)),--region-endpoint $(r)="$(ENDPOINT_$(r))"))

# Regenerate docs/content.md from the content files (a test fails while it is stale).
docs: setup
	$(BIN)/python tools/build_content_doc.py

deploy-check:
	bash tools/sam_build_check.sh

# Re-resolve every lock after changing a requirement: the Lambda artifact's
# (lambda/requirements.in -> lambda/requirements.txt, for python3.13 on arm64), the dev and CI
# tools' (pyproject.toml's dev extra -> requirements/dev.txt) and the SAM CLI's
# (requirements/sam.in -> requirements/sam.txt). Every package pinned, with hashes.
lock: setup
	$(BIN)/uv pip compile --quiet --upgrade --generate-hashes \
	  --python-platform x86_64-manylinux2014 --python-version 3.13 \
	  --custom-compile-command "make lock" \
	  lambda/requirements.in -o lambda/requirements.txt
	$(BIN)/uv pip compile --quiet --upgrade --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" pyproject.toml --extra dev -o requirements/dev.txt
	$(BIN)/uv pip compile --quiet --upgrade --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" requirements/sam.in -o requirements/sam.txt

clean:
	rm -rf $(VENV) node_modules .aws-sam build dist .pytest_cache .mypy_cache .ruff_cache
