# Mizan: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := core
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help run test install lint bench bench-webhooks clean

help:  ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed  ## Create the virtualenv and install Mizan with its test tools

run: install  ## Migrate, load demo data if empty, serve on http://127.0.0.1:5000 with sandbox stores
	$(BIN)/flask db upgrade heads
	$(BIN)/flask demo seed
	$(BIN)/flask demo serve --host $(HOST) --port $(PORT)

test: install  ## Run the whole test suite (SQLite, or DATABASE_URL when set)
	$(BIN)/python -m pytest

lint: install  ## Check the code with ruff
	$(BIN)/ruff check core tests bench

bench: install  ## Print invoice posting throughput (see bench/)
	$(BIN)/python bench/post_invoices.py

bench-webhooks: install  ## Print webhook acks/s and p99 vs bare Flask, bookings/s per worker (needs Redis)
	$(BIN)/python bench/webhooks.py

clean:  ## Remove the virtualenv and caches (keeps the instance folder)
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
