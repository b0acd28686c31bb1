# The two commands of the README: `make run` and `make test`. Both install what is missing
# (virtualenv, Python packages, database jars) and start the databases themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# `make run` and `make test` use separate ports and data folders so both can run at once.
RUN_ENV := SIGMA_SERVICES_DIR=$(CURDIR)/.ci/tmp/run SIGMA_MONGO_PERSIST=1 \
  SIGMA_CASSANDRA_PORT=9042 SIGMA_CASSANDRA_STORAGE_PORT=7000 SIGMA_MONGO_PORT=27017
TEST_DIR := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/sigma-test-$(shell id -u) || echo $(CURDIR)/.ci/tmp/test)
TEST_ENV := SIGMA_SERVICES_DIR=$(TEST_DIR) SIGMA_MONGO_PERSIST=0 \
  SIGMA_CASSANDRA_PORT=19042 SIGMA_CASSANDRA_STORAGE_PORT=17000 SIGMA_MONGO_PORT=27018 \
  SIGMA_MONGO_URI=mongodb://127.0.0.1:27018 SIGMA_CASSANDRA_CONTACT_POINTS=127.0.0.1:19042

.PHONY: install services services-down migrate seed run test test-services lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

services:
	$(RUN_ENV) .ci/services.sh up

services-down:
	$(RUN_ENV) .ci/services.sh down

migrate: install services
	$(BIN)/sigma-graphql migrate

seed: migrate
	$(BIN)/sigma-graphql seed --demo

run: install services
	$(BIN)/sigma-graphql migrate
	$(BIN)/sigma-graphql seed --demo --if-empty
	$(BIN)/sigma-graphql serve

# Starts the test databases, runs the whole suite, stops what it started, keeps pytest's status.
test: install
	$(TEST_ENV) .ci/services.sh up
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  $(TEST_ENV) .ci/services.sh down; exit $$rc

# Test databases left running between pytest runs (developer loop): make test-services, then
# `make test-fast` as often as needed.
test-services: install
	$(TEST_ENV) .ci/services.sh up

test-fast:
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench: install services
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	.ci/services.sh down || true
	rm -rf .ci/tmp
