# `make run` serves Weeknote on http://127.0.0.1:$(PORT) with SQLite; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
AXE := tests/js/node_modules/axe-core/axe.min.js

.PHONY: run worker beat test lint bench bench-serve clean

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

# The scheduler that starts the digest dispatcher; run exactly one.
beat: $(STAMP)
	$(BIN)/celery -A worker.main beat --schedule instance/celerybeat-schedule --loglevel=INFO

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# axe-core (npm) for the browser tests' accessibility scans; without npm they skip (and fail under CI).
$(AXE): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the axe-core accessibility scans will be skipped"; \
	fi

test: lint $(AXE)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/import_posts.py

bench-serve: $(STAMP)
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info tests/js/node_modules test-artifacts
