# b24-dedupe: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_DIR := .run
# Our own Redis for tests and `make run`, never the machine's shared one on 6379.
REDIS_PORT ?= 6391
LOCAL_REDIS_URL := redis://127.0.0.1:$(REDIS_PORT)/0

.PHONY: test lint run soak bench redis clean venv

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

# Starts redis-server on a private port under .run/ unless REDIS_URL is set
# or our private one already answers.
redis:
	@if [ -n "$$REDIS_URL" ]; then echo "using REDIS_URL from the environment"; \
	elif redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1; then echo "redis on port $(REDIS_PORT) answers"; \
	else mkdir -p $(RUN_DIR) && redis-server --daemonize yes --bind 127.0.0.1 --port $(REDIS_PORT) \
		--dir $(abspath $(RUN_DIR)) --appendonly yes --save '' \
		--pidfile $(abspath $(RUN_DIR))/redis.pid --logfile $(abspath $(RUN_DIR))/redis.log \
		&& for i in $$(seq 1 50); do redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1 && break; sleep 0.1; done \
		&& echo "started redis-server on 127.0.0.1:$(REDIS_PORT)"; fi

test: venv redis
	REDIS_URL=$${REDIS_URL:-$(LOCAL_REDIS_URL)} $(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# With a portal configured (B24_WEBHOOK_URL and B24_APPLICATION_TOKEN, in the
# environment or .env) the real service; without one, the demo against the emulator.
run: venv redis
	@export REDIS_URL=$${REDIS_URL:-$(LOCAL_REDIS_URL)}; \
	if [ -n "$$B24_WEBHOOK_URL" ] || grep -qs '^B24_WEBHOOK_URL=.' .env; then \
		exec $(BIN)/b24-dedupe serve; \
	else \
		exec $(BIN)/b24-dedupe demo; \
	fi

soak: venv redis
	REDIS_URL=$${REDIS_URL:-$(LOCAL_REDIS_URL)} $(BIN)/pytest -q -m soak
	@if [ -n "$$SOAK_REPORT" ]; then $(BIN)/python -m tests.reliability.summary "$$SOAK_REPORT"; fi

# Every bench/*.py but the helpers (bench/_*.py), each with its defaults: bounded runs,
# about 35 minutes in all (bench/drain.py at the docs' limits takes most; see its --help).
bench: venv redis
	@ls bench/[!_]*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 1; }
	for b in bench/[!_]*.py; do REDIS_URL=$${REDIS_URL:-$(LOCAL_REDIS_URL)} $(BIN)/python $$b || exit 1; done

clean:
	-test -f $(RUN_DIR)/redis.pid && kill $$(cat $(RUN_DIR)/redis.pid)
	rm -rf $(RUN_DIR) $(VENV) .pytest_cache .mypy_cache .ruff_cache
