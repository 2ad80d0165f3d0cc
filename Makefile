# The two commands a newcomer needs: `make run` (the whole system on embedded defaults)
# and `make test` (the offline lint checks, then the whole suite). Everything else is a step
# of those two, or a check that needs the network (`make audit`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The audit tools pin their own dependencies (safety pins psutil, among others), so they get
# a virtualenv of their own inside .venv, where every linter already looks away.
AUDIT_VENV := $(VENV)/audit
COMPOSE_FILE := docker-compose.yml
COMPOSE_ENV_FILE ?= .env.example
WORKFLOWS := $(wildcard .github/workflows/*.yml .github/workflows/*.yaml)
# Python keeps each compiled module in __pycache__ (ignored by git). The suite starts some
# seventy Python processes (web servers, workers, commands, the pytest workers); where the
# environment sets PYTHONDONTWRITEBYTECODE, each of them compiled every module of the project
# again, about half a second of CPU per process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test warm-tests suite coverage lint lint-python lint-workflows lint-compose format audit \
	bench loadtest clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,lint,load]'
	touch $@

run: install
	$(BIN)/clinic run

# The suite runs in parallel (pytest-xdist): each worker has its own databases and Redis
# prefixes. Its tests wait on servers, sockets and workers, so more workers than cores keep
# both cores busy; beyond that, each worker adds CPU of its own (its collection of the suite,
# its servers, browser and database connections) on a machine already full. Four, measured
# on this 2-core machine in one hour on 4 December: 272 s (5 min 51 s of CPU) with four,
# 292 s with five, 300 s with six, 309-319 s (7 min 15 s-7 min 25 s of CPU) with eight. Long
# tests go first (tests/conftest.py) and a worker with nothing left takes tests queued for a
# busy one (--maxschedchunk 2), so the workers end together. PYTEST_ARGS adds or overrides
# options (for example PYTEST_ARGS='-n 0 -x').
PYTEST_WORKERS ?= 4
test: lint warm-tests
	$(PY) -m pytest -n $(PYTEST_WORKERS) --maxschedchunk 2 $(PYTEST_ARGS)

# Each worker imports every test module, and pytest rewrites each module's asserts the first
# time it imports it, then keeps the result in __pycache__. On a fresh checkout the workers
# would each rewrite every module at once (about 6 s of CPU each); two collections
# beforehand, one per core and half the files each, do it once, and compile the project's own
# modules too. A collection error is reported by the run itself, which follows.
warm-tests: install
	@files="$$(find tests -name 'test_*.py' | sort)"; \
	$(PY) -m pytest --collect-only -q $$(printf '%s\n' $$files | awk 'NR % 2') >/dev/null 2>&1 & \
	$(PY) -m pytest --collect-only -q $$(printf '%s\n' $$files | awk 'NR % 2 == 0') >/dev/null 2>&1; \
	wait

# CI's test job: the whole suite as `make test` runs it, with pytest's JUnit report, then the
# duration gate (.ci/gates.py): the suite within 5 minutes.
suite: install warm-tests
	$(PY) -m pytest -n $(PYTEST_WORKERS) --maxschedchunk 2 --junitxml=junit.xml $(PYTEST_ARGS)
	$(PY) .ci/gates.py duration junit.xml

# CI's coverage job: the suite with branch coverage (also in the processes the tests start),
# then the gates: 95% overall, 100% for clinic/, every exclusion with its reason. Measuring
# slows every process several times over, so the 5-minute limit is the `suite` target's gate.
coverage: install warm-tests
	$(PY) -m pytest -n $(PYTEST_WORKERS) --maxschedchunk 2 --cov --cov-report=term:skip-covered \
		--cov-report=json:coverage.json $(PYTEST_ARGS)
	$(PY) .ci/gates.py coverage coverage.json
	$(PY) .ci/gates.py pragmas clinic web tasks workers

# Everything here works offline: `make test` runs it, and so does CI's lint job.
lint: lint-python lint-workflows lint-compose

lint-python: install
	$(BIN)/black --check --quiet .
	$(BIN)/isort --check-only --quiet .
	$(BIN)/flake8
	$(BIN)/bandit --quiet --recursive clinic web tasks workers
	$(BIN)/lint-imports --no-cache

lint-workflows: install
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --no-progress .github
	$(BIN)/zizmor --offline --no-progress --persona pedantic .github

# The schema check always runs; `config` also resolves variables and references when a
# compose implementation is installed (`docker compose` on CI runners, Debian's
# docker-compose where there is no Docker engine).
lint-compose: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec $(COMPOSE_FILE)
	@if docker compose version >/dev/null 2>&1; then \
		echo "docker compose config"; \
		docker compose --env-file $(COMPOSE_ENV_FILE) -f $(COMPOSE_FILE) config --quiet; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		echo "docker-compose config"; \
		docker-compose --env-file $(COMPOSE_ENV_FILE) -f $(COMPOSE_FILE) config --quiet; \
	else \
		echo "no docker compose here: $(COMPOSE_FILE) checked against the schema only"; \
	fi

format: install
	$(BIN)/black --quiet .
	$(BIN)/isort --quiet .

# Needs the network (vulnerability databases): CI's security job runs it; `make test` does not.
# --strict: a package pip-audit could not look up (PyPI unreachable, say) fails the audit,
# where it would otherwise be skipped with "No known vulnerabilities found" and the gate pass.
audit: install
	test -x $(AUDIT_VENV)/bin/pip-audit || $(PYTHON) -m venv $(AUDIT_VENV)
	test -x $(AUDIT_VENV)/bin/pip-audit || $(AUDIT_VENV)/bin/pip install --quiet \
		$$($(PY) -c "import configparser; c = configparser.ConfigParser(); \
		c.read('setup.cfg'); print(c['options.extras_require']['audit'])")
	$(PY) -m pip freeze --exclude-editable > $(AUDIT_VENV)/requirements.txt
	$(AUDIT_VENV)/bin/pip-audit --requirement $(AUDIT_VENV)/requirements.txt \
		--no-deps --disable-pip --strict --progress-spinner off
	$(AUDIT_VENV)/bin/safety check --file $(AUDIT_VENV)/requirements.txt --full-report

bench: install
	@ran=0; for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; $(PY) "$$script" || exit $$?; ran=1; \
	done; \
	[ $$ran = 1 ] || echo "bench: no benchmarks in bench/ yet"

# The whole system under locust for a bounded time (LOAD_USERS, LOAD_SPAWN_RATE, LOAD_TIME).
loadtest: install
	BIN=$(BIN) bash .ci/loadtest

clean:
	rm -rf $(VENV) instance build *.egg-info
