# The two commands a new machine needs (see README.md):
#   make bench   set everything up, run the standard matrix, write the report
#   make test    set everything up, run the tests (unit + real-engine tests on small images)
PY := .venv/bin/python
PROFILE ?= standard

.PHONY: bench test test-all setup bases report clean

setup:
	scripts/setup.sh

bench: setup
	$(PY) -m bench bases --build
	$(PY) -m bench run --profile $(PROFILE)
	$(PY) -m bench report

test: setup
	$(PY) -m pytest -m "not slow"

# Every variant of every app on the real engine: long (builds ~1 GB images).
test-all: setup
	$(PY) -m pytest

report:
	$(PY) -m bench report

clean:
	$(PY) -m bench clean
