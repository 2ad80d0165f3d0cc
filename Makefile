# The two commands a newcomer needs: `make run` (the whole system on embedded defaults)
# and `make test` (the whole suite). Everything else is a step of those two.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: install run test lint format audit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,lint,load]'
	touch $@

run: install
	$(BIN)/clinic run

test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) instance build *.egg-info
