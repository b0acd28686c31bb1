# The two commands of the README: `make run` and `make test`. Both install what is missing
# (virtualenv, Python packages, database jars) and start the databases themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

# `make run` and `make test` use separate ports and data folders so both can run at once.
RUN_ENV := SIGMA_SERVICES_DIR=$(CURDIR)/.ci/tmp/run SIGMA_MONGO_PERSIST=1 \
  SIGMA_CASSANDRA_PORT=9042 SIGMA_CASSANDRA_STORAGE_PORT=7000 SIGMA_MONGO_PORT=27017
# Test ports are variables so several checkouts (git worktrees) can test side by side, e.g.
# `make test TEST_CQL_PORT=19142 TEST_STORAGE_PORT=17100 TEST_MONGO_PORT=27118`.
TEST_CQL_PORT ?= 19042
TEST_STORAGE_PORT ?= 17000
TEST_MONGO_PORT ?= 27018
TEST_DIR := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/sigma-test-$(shell id -u)-$(TEST_CQL_PORT) || echo $(CURDIR)/.ci/tmp/test)
TEST_ENV := SIGMA_SERVICES_DIR=$(TEST_DIR) SIGMA_MONGO_PERSIST=0 \
  SIGMA_CASSANDRA_PORT=$(TEST_CQL_PORT) SIGMA_CASSANDRA_STORAGE_PORT=$(TEST_STORAGE_PORT) \
  SIGMA_MONGO_PORT=$(TEST_MONGO_PORT) SIGMA_MONGO_URI=mongodb://127.0.0.1:$(TEST_MONGO_PORT) \
  SIGMA_CASSANDRA_CONTACT_POINTS=127.0.0.1:$(TEST_CQL_PORT)
# NATS, the event broker between API processes (issue 17): started beside the databases.
RUN_NATS_PORT ?= 4222
TEST_NATS_PORT ?= 14222
RUN_ENV += SIGMA_NATS_PORT=$(RUN_NATS_PORT) SIGMA_NATS_URL=nats://127.0.0.1:$(RUN_NATS_PORT)
TEST_ENV += SIGMA_NATS_PORT=$(TEST_NATS_PORT) SIGMA_NATS_URL=nats://127.0.0.1:$(TEST_NATS_PORT)
# HAProxy from Debian's packages: the load balancer of `make run-cluster` and the cluster test.
HAPROXY := command -v haproxy >/dev/null || { apt-get update -qq && apt-get install -y -qq haproxy; }
CLUSTER_PROCESSES ?= 3
CLUSTER_PORT ?= 8080

.PHONY: install services services-down migrate seed run test test-slow test-services \
  test-services-down test-fast lint bench clean explorer run-cluster

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

run: install services explorer
	$(BIN)/sigma-graphql migrate
	$(BIN)/sigma-graphql seed --demo --if-empty
	$(BIN)/sigma-graphql serve

# pytest-xdist workers of `make test`, a test module at a time each (tests/conftest.py): most
# tests wait on a database or a server process, so two workers fit on two cores.
TEST_WORKERS ?= 2

# Lint first (fast, fails early), then starts the test databases, runs the whole suite, stops what
# it started, keeps pytest's status.
test: install lint explorer
	@$(HAPROXY)
	$(TEST_ENV) .ci/services.sh up
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	  $(TEST_ENV) .ci/services.sh down; exit $$rc

# Only the tests marked `slow` (e.g. many more schema fuzz examples), set up like `make test`.
test-slow: install
	$(TEST_ENV) .ci/services.sh up
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) -m slow $(PYTEST_ARGS); rc=$$?; \
	  $(TEST_ENV) .ci/services.sh down; exit $$rc

# Test databases left running between pytest runs (developer loop): make test-services, then
# `make test-fast` as often as needed.
test-services: install
	@$(HAPROXY)
	$(TEST_ENV) .ci/services.sh up

test-services-down:
	$(TEST_ENV) .ci/services.sh down

test-fast:
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install  # ruff, ruff format, mypy strict, the import-linter layers contract (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

bench: install services  # wrk (the load generator) from Debian's packages when missing
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	.ci/services.sh down || true
	rm -rf .ci/tmp

# The explorer's browser files (GraphiQL, React) from the npm registry with `npm ci` (lockfile
# integrity), cached in the git-ignored sigma_graphql/server/explorer/node_modules.
explorer:
	.ci/explorer.sh
# Several API processes behind HAProxy on one port (issue 17; docs/architecture.md, Deployment):
# `make run-cluster CLUSTER_PROCESSES=3 CLUSTER_PORT=8080`.
run-cluster: install services
	@$(HAPROXY)
	$(BIN)/sigma-graphql migrate
	$(BIN)/sigma-graphql seed --demo --if-empty
	$(RUN_ENV) $(BIN)/sigma-graphql run-cluster --processes $(CLUSTER_PROCESSES) --port $(CLUSTER_PORT)
