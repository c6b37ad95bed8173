# silkline: `make demo` and `make test` are the two commands of the README.
# Everything they need is installed here, into .venv and tests/node/node_modules.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NODE_DIR := tests/node
BUF := $(NODE_DIR)/node_modules/.bin/buf

.PHONY: install demo test lint unit proto pki clean bench bench-large

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "silkline needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Node is optional on a laptop: without npm the buf lint and the other-language
# interop test report themselves skipped. CI sets CI=true and then requires them.
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	elif [ "$$CI" = "true" ]; then echo "npm is required in CI (buf lint, interop test)"; exit 1; \
	else echo "SKIPPED node tooling: npm not found (buf lint and the interop test will skip)"; fi

demo: install
	$(PY) deploy/dev/demo.py

lint: install $(NODE_DIR)/node_modules/.installed
	$(VENV)/bin/ruff check server client tests deploy proto bench docs
	$(VENV)/bin/mypy
	@if [ -x $(BUF) ]; then $(BUF) lint && echo "buf lint: ok"; \
	else echo "SKIPPED buf lint: $(BUF) not installed (needs npm)"; fi

unit: install $(NODE_DIR)/node_modules/.installed
	$(VENV)/bin/pytest

test: lint unit

# Benchmarks (issue 8): every scenario in fresh processes, a markdown table, and
# bench/results/latest.json. BACKEND=postgresql uses the PostgreSQL on 127.0.0.1:5432
# (SILKLINE_BENCH_POSTGRES_URL overrides), a fresh database per run; REPLICAS=2 adds
# two silkline-server replicas on one database next to one. At most 10 minutes.
BACKEND ?= sqlite
REPLICAS ?= 1
bench: install
	$(PY) bench/run.py --backend $(BACKEND) --replicas $(REPLICAS)

# Never in CI: fills RECORDS records (1,000,000: long) and compares throughput,
# proof time and server memory with an empty store. RECORDS=20000 for a quick try.
RECORDS ?= 1000000
bench-large: install
	$(PY) bench/large.py --records $(RECORDS) --backend $(BACKEND) --json bench/results/large.json

proto: install
	$(PY) proto/generate.py

pki: install
	$(VENV)/bin/silkline pki init --out certs/example --force

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules demo-out .mypy_cache .ruff_cache .pytest_cache
