# Mizan: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := core
HOST ?= 127.0.0.1
PORT ?= 5000

PO_FILES := $(wildcard core/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.DEFAULT_GOAL := help
.PHONY: help run test install browser lint bench bench-webhooks clean translations-update

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed $(MO_FILES)  ## Create the virtualenv and install Mizan with its test tools

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ --statistics

translations-update: install  ## Re-extract the UI strings and merge them into the Arabic catalogue
	$(BIN)/pybabel extract -F babel.cfg -k _l -o core/translations/messages.pot .
	$(BIN)/pybabel update -i core/translations/messages.pot -d core/translations --no-fuzzy-matching

run: install  ## Keep a SECRET_KEY in instance/mizan.cfg, migrate, load demo data, serve on :5000 with sandbox stores
	$(BIN)/python -m core.instance_secret
	$(BIN)/flask db upgrade heads
	$(BIN)/flask demo seed
	$(BIN)/flask demo serve --host $(HOST) --port $(PORT)

# The browser tests (tests/browser) drive Debian's Chromium through its chromedriver.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser:  ## Install Debian's chromium and chromium-driver (apt-get, sudo when not root) if missing
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "== installing chromium and chromium-driver with apt-get"; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; \
	fi
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  echo "error: $(CHROMIUM) or $(CHROMEDRIVER) is missing; the browser tests need Debian's chromium and chromium-driver" >&2; \
	  exit 1; \
	fi

test: install browser  ## Run the whole test suite (SQLite, or DATABASE_URL when set), browser tests included
	$(BIN)/python -m pytest

lint: install  ## Check the code with ruff
	$(BIN)/ruff check core tests bench

bench: install  ## Print invoice posting throughput (see bench/)
	$(BIN)/python bench/post_invoices.py

bench-webhooks: install  ## Print webhook acks/s and p99 vs bare Flask, bookings/s per worker (needs Redis)
	$(BIN)/python bench/webhooks.py

clean:  ## Remove the virtualenv and caches (keeps the instance folder)
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
