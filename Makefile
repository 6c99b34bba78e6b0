# b24-dedupe: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_DIR := .run
# Our own Redis servers, never the machine's shared one on 6379, and never each other's:
# `make run` keeps its data in .run/run/, `make test` in .run/test/ (scripts/local-redis.sh
# starts them, and uses a Redis already on a port only when it is ours; otherwise it
# takes the next free port). REDIS_URL set in the environment wins.
RUN_REDIS_PORT ?= 6391
TEST_REDIS_PORT ?= 6392
LOCAL_REDIS := scripts/local-redis.sh

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# Starts (or finds) the two Redis servers of this checkout.
redis:
	@$(LOCAL_REDIS) run $(RUN_REDIS_PORT)
	@$(LOCAL_REDIS) test $(TEST_REDIS_PORT)

# Two processes (pytest-xdist): the tests wait on servers and Redis far more than they
# compute, and each uses its own key prefix and free ports, so they share a machine.
TEST_PROCESSES ?= 2

test: venv
	@url=$${REDIS_URL:-$$($(LOCAL_REDIS) test $(TEST_REDIS_PORT))} && \
	REDIS_URL=$$url $(BIN)/pytest -q -n $(TEST_PROCESSES)

# The review page in a real headless Chromium (Debian's chromium and chromium-driver,
# which .ci/run installs); the run's pictures of the queue and a group page go to
# docs/screenshots/ (B24DD_SCREENSHOTS= elsewhere).
test-browser: venv
	@url=$${REDIS_URL:-$$($(LOCAL_REDIS) test $(TEST_REDIS_PORT))} && \
	B24DD_SCREENSHOTS=$${B24DD_SCREENSHOTS-docs/screenshots} REDIS_URL=$$url \
		$(BIN)/pytest -q -m browser

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# With a portal configured (B24_WEBHOOK_URL and B24_APPLICATION_TOKEN, in the
# environment or .env) the real service; without one, the demo against the emulator.
# Redis: REDIS_URL from the environment or .env, else our own (.run/run/).
run: venv
	@if [ -z "$$REDIS_URL" ] && ! grep -qs '^REDIS_URL=.' .env; then \
		REDIS_URL=$$($(LOCAL_REDIS) run $(RUN_REDIS_PORT)) || exit 1; export REDIS_URL; \
		echo "make run: Redis at $$REDIS_URL; other commands need it too:" \
			"REDIS_URL=$$REDIS_URL $(BIN)/b24-dedupe doctor|audit|..."; \
	fi; \
	if [ -n "$$B24_WEBHOOK_URL" ] || grep -qs '^B24_WEBHOOK_URL=.' .env; then \
		exec $(BIN)/b24-dedupe serve; \
	else \
		exec $(BIN)/b24-dedupe demo; \
	fi

soak: venv
	@url=$${REDIS_URL:-$$($(LOCAL_REDIS) test $(TEST_REDIS_PORT))} && \
	REDIS_URL=$$url $(BIN)/pytest -q -m soak
	@if [ -n "$$SOAK_REPORT" ]; then $(BIN)/python -m tests.reliability.summary "$$SOAK_REPORT"; fi

# Every bench/*.py but the helpers (bench/_*.py), each with its defaults: bounded runs,
# about 35 minutes in all (bench/drain.py at the docs' limits takes most; see its --help).
bench: venv
	@ls bench/[!_]*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 1; }
	@url=$${REDIS_URL:-$$($(LOCAL_REDIS) test $(TEST_REDIS_PORT))} && \
	for b in bench/[!_]*.py; do REDIS_URL=$$url $(BIN)/python $$b || exit 1; done

clean:
	-for pid in $(RUN_DIR)/*/redis.pid $(RUN_DIR)/redis.pid; do test -f $$pid && kill $$(cat $$pid); done
	rm -rf $(RUN_DIR) $(VENV) .pytest_cache .mypy_cache .ruff_cache
