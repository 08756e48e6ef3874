# `make run` serves Weeknote on http://127.0.0.1:$(PORT) with SQLite; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run worker test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

run: $(STAMP)
	$(BIN)/weeknote db upgrade
	@if [ ! -e instance/.sample-posts-imported ]; then \
		$(BIN)/weeknote import blog/sample_posts && touch instance/.sample-posts-imported; \
	fi
	$(BIN)/weeknote run --host 127.0.0.1 --port $(PORT)

# The Celery worker; needs REDIS_URL (without it, `make run` sends mail inline).
worker: $(STAMP)
	$(BIN)/celery -A worker.main worker --loglevel=INFO

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/import_posts.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
