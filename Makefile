# Two commands set everything up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: serve test lint node chromium web web-check schema-lint schema bench bench-scale bench-nested bench-import fuzz soak audit postgres clean

# The first start installs about 60 packages: pip says which one it is at.
$(STAMP): pyproject.toml requirements.lock
	@echo "Installing the project and its locked dependencies into $(VENV) (first start: a minute or two)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	bash -o pipefail -c "$(BIN)/python -m pip install --progress-bar off -c requirements.lock \
	  -e '.[dev]' 2>&1 | grep --line-buffered -E '^(Collecting|Successfully installed)|ERROR'"
	touch $(STAMP)

# Node.js and npm for the tools/ packages, from Debian's packages when the machine has none.
node:
	@command -v npm >/dev/null 2>&1 || { echo "Installing Node.js and npm (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
	  || { echo "npm is missing and could not be installed: install Node.js and npm" >&2; exit 1; }; }

# GraphiQL's files for `make serve` (npm ci from the committed lock file; no CDN at run
# time).
GRAPHIQL := tools/graphiql/node_modules/.package-lock.json
$(GRAPHIQL): tools/graphiql/package.json tools/graphiql/package-lock.json | node
	@echo "Installing GraphiQL's files into tools/graphiql/node_modules"
	cd tools/graphiql && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

# graphql-schema-linter for `make lint`, the same way; it checks the checked-in
# schema.graphql with the rules (and the ones left out, with why) in
# tools/schema-lint/graphql-schema-linter.config.js.
SCHEMA_LINT := tools/schema-lint/node_modules/.package-lock.json
$(SCHEMA_LINT): tools/schema-lint/package.json tools/schema-lint/package-lock.json | node
	@echo "Installing graphql-schema-linter into tools/schema-lint/node_modules"
	cd tools/schema-lint && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

schema-lint: $(SCHEMA_LINT)
	tools/schema-lint/node_modules/.bin/graphql-schema-linter --config-directory tools/schema-lint

# The reference customer portal (web/, served at /portal/): npm ci from the committed
# lock file, then graphql-codegen (types from schema.graphql), tsc and vite build.
WEB_DEPS := web/node_modules/.package-lock.json
$(WEB_DEPS): web/package.json web/package-lock.json | node
	@echo "Installing the portal's npm packages into web/node_modules"
	cd web && npm ci --no-audit --no-fund --loglevel=error

WEB_SOURCES := $(shell find web/src -type f -not -path 'web/src/gql/*' 2>/dev/null) \
  web/index.html web/vite.config.ts web/codegen.ts web/tsconfig.json schema.graphql
web/dist/index.html: $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html

# `make test`: type-check against the checked-in schema and build, every time.
web-check: $(WEB_DEPS)
	cd web && npm run build

# Debian's Chromium for the portal's browser tests (Playwright drives it; it downloads
# no browser of its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Chromium (Debian package)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || { echo "chromium is missing and could not be installed" >&2; exit 1; }; }

# PostgreSQL server binaries for the embedded database (skipped with DATABASE_URL).
postgres:
	@if [ -z "$$DATABASE_URL" ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
	    && ! command -v postgres >/dev/null 2>&1; then \
	  echo "Installing PostgreSQL server binaries (Debian package 'postgresql')"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

serve: $(STAMP) postgres $(GRAPHIQL) web
	$(BIN)/portal serve $(ARGS)

lint: $(STAMP) schema-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r gql db

# The suite, then again with query plans and short mutations switched off the tests
# that switch can change: those that sent the GraphQL view an operation, the one place
# that reads it (gql/http/view.py). The first pass records them (tests/fast_path.py), so
# the list is derived, never kept by hand; tests calling `schema.execute` or the domain
# run the same code both ways. Servers in other processes (`portal serve`, the browser
# tests' server) are not recorded. The second pass runs with QUERY_PLANS=compare: the
# executor answers everything, as with off, and every read a plan can answer is
# answered by its plan too; a different answer fails the test (in the first pass a
# plan answers only a document the executor has answered before, so most of the
# suite's reads meet their plan only here).
# tests/http/test_engines.py and the other tests of the `engines` fixture compare both
# engines on the same requests within the first pass, for every kind of caller.
# Both passes run on $(WORKERS) pytest-xdist workers (WORKERS=0: in one process).
# --dist loadfile keeps a module's tests on one worker, so its module-scoped servers
# start once, and tests/scheduling.py hands out the costliest modules first. Serially the
# first pass took 8:03 on CI and about 10:25 on this 2-core build machine when quiet; on
# 2 workers 3,625 tests took 5:36 in a clean clone (.ci/run) while other work ran, and
# 3,890 tests 2:58 on a quiet machine. The second pass: 355 tests in 1:16 (quiet).
WORKERS ?= 2
FAST_PATH_TESTS := .pytest_cache/fast-path-tests.tsv
# The Debian packages first, one apt-get at a time; then the rest of the setup side by
# side (make -j): lint (the venv, then mypy, the longest) while npm installs and builds
# the portal, each target's output kept together.
test: node postgres chromium
	$(MAKE) --no-print-directory -j3 --output-sync=target lint $(GRAPHIQL) web-check
	$(BIN)/pytest -n $(WORKERS) --dist loadfile --record-fast-path=$(FAST_PATH_TESTS)
	QUERY_PLANS=compare $(BIN)/pytest -q -n $(WORKERS) --dist loadfile \
	  --rerun-fast-path=$(FAST_PATH_TESTS)

schema: $(STAMP)
	$(BIN)/portal schema > schema.graphql

# The portal's busiest reads and mutations: ours vs PostGraphile 4 (npm) vs a one-statement
# floor where they can express them, with wrk (installed from Debian if missing);
# ARGS=--quick for a smoke run. Results in .bench-results/.
bench: $(STAMP) postgres
	$(BIN)/python -m bench.dashboard $(ARGS)

# One vs two server processes on this machine's cores, and with a streaming read replica
# (pg_basebackup -R of the throwaway PostgreSQL): the dashboard and submitMeterReading
# under wrk; ARGS=--quick for a smoke run. Results in .bench-results/scale.json.
bench-scale: $(STAMP) postgres
	$(BIN)/python -m bench.scale $(ARGS)

# The nested staff query in process: SQL statements per request at page sizes 2 and 50.
bench-nested: $(STAMP) postgres
	$(BIN)/python -m bench.nested_query $(ARGS)

# The fuzz test of the suite with many more generated operations per role.
fuzz: $(STAMP) postgres
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(BIN)/pytest -q tests/http/test_fuzz.py

# Ten minutes of steady mixed load (50 requests/s) against `portal serve` on its own
# embedded PostgreSQL: error rate, p50/p99 and the server's RSS per minute. Not part of
# `make test` (which runs a 20-second version); ARGS="--minutes 30 --password-profile low".
soak: $(STAMP) postgres
	$(BIN)/python -m bench.soak $(ARGS)

# Known vulnerabilities of the locked dependencies (pip-audit asks the PyPI/OSV
# vulnerability service, so it needs that network; not part of `make test`, whose
# machines reach only a package mirror).
audit:
	test -x .audit-venv/bin/pip-audit || ($(PYTHON) -m venv .audit-venv \
	  && .audit-venv/bin/python -m pip install --quiet pip-audit)
	.audit-venv/bin/pip-audit --strict -r requirements.lock

bench-import: $(STAMP) postgres
	$(BIN)/python -m bench.import_users $(ARGS)

clean:
	rm -rf $(VENV) .audit-venv .data web/node_modules web/dist web/src/gql .mypy_cache .ruff_cache .pytest_cache
