# The two commands a new machine needs (see README.md):
#   make bench   set everything up, run the standard matrix, write the report
#   make test    set everything up, run the tests (unit + real-engine tests on small images)
PY := .venv/bin/python
PROFILE ?= standard

.PHONY: bench test test-all benchmark setup bases report results clean

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

# pytest-benchmark suites in benchmarks/ (slow: a ~1 GB image read by bench and by dive, report
# generation, throttle accuracy, resume), then the harness A/B through the real engine.
# Their JSON is kept in results/benchmarks/<UTC timestamp>.json (and -harness.json).
BENCH_STAMP := $(shell date -u +%Y%m%dT%H%M%SZ)

benchmark: setup
	mkdir -p results/benchmarks
	$(PY) -m pytest benchmarks -p no:cacheprovider --benchmark-enable --benchmark-group-by=group \
		--benchmark-columns=min,median,max,iqr,rounds --benchmark-json results/benchmarks/$(BENCH_STAMP).json
	$(PY) benchmarks/bench_harness.py --json results/benchmarks/$(BENCH_STAMP)-harness.json

report:
	$(PY) -m bench report

# Every committed run's report and charts from its stored measurements, the run results/latest
# names last (it also writes results/REPORT.md and README's first screen), then results/COMPARE.md:
# the published run beside COMPARE_WITH, an independent quick run. No engine needed.
COMPARE_WITH := 20261202T005744Z

results:
	@latest=$$(cat results/latest); \
	for d in results/runs/*/; do r=$$(basename $$d); [ "$$r" = "$$latest" ] || $(PY) -m bench report $$r || exit 1; done; \
	$(PY) -m bench report $$latest && \
	$(PY) -m bench compare $(COMPARE_WITH) $$latest --format markdown > results/COMPARE.md.new && \
	mv results/COMPARE.md.new results/COMPARE.md

clean:
	$(PY) -m bench clean
