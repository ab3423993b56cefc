# Two commands: `make dev` (Temporal dev server + worker + functions/) and `make test`
# (lint + the whole suite); `make test-unit` runs the tests that need no server, in seconds.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-unit lint bench clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/adapter dev

lint: $(STAMP)
	$(BIN)/ruff check adapter functions tests bench
	$(BIN)/ruff format --check adapter functions tests bench
	$(BIN)/mypy

# The official Inngest JS SDK for tests/test_http.py, reinstalled only when the lockfile changes.
JS_DEPS := tests/js/node_modules/.package-lock.json

$(JS_DEPS): tests/js/package.json tests/js/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix tests/js --no-audit --no-fund && touch $@; \
	else echo "npm not found: install Node.js 20+ for the JS SDK test in tests/test_http.py"; fi

# The console's browser tests drive Debian's Chromium (Playwright's executable_path);
# installed here when missing, never downloaded by Playwright.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# Two pytest workers, each with its own Temporal dev server; a file's tests stay together.
test: lint $(JS_DEPS) chromium
	$(BIN)/pytest -q -n 2 --dist loadfile

# Markers are applied in tests/conftest.py: unit = no Temporal server, no subprocess server.
test-unit: $(STAMP)
	$(BIN)/pytest -m unit -q

bench: $(STAMP)
	$(BIN)/python -m bench.steps

clean:
	rm -rf $(VENV) .state
