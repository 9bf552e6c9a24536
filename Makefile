# ferroscreen: the README's two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
# Test processes: most of the suite runs the CLI in subprocesses (torch imports dominate), so
# two workers cut it by about a third on a 2-core machine (840 -> 554 s); TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test bench lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/ferroscreen demo --out demo_out

test: venv
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: venv
	$(BIN)/ruff check ferroscreen tests benchmarks training

# benchmarks that need no input of their own (thunor_worker.py is fit_speed.py's helper in thunor's
# interpreter); correction_accuracy, lookahead_accuracy, oracle_labels and tta_accuracy take a plate
# and a model (see their --help)
BENCH = simulate_speed fit_speed simulated_validation detection_accuracy score_throughput \
	segment_throughput nuclei_scale classifier_accuracy

bench: venv
	@for b in $(BENCH); do echo "== benchmarks/$$b.py"; $(BIN)/python benchmarks/$$b.py || exit 1; done
	@echo "on a plate and model of your own: benchmarks/{correction_accuracy,lookahead_accuracy,oracle_labels,tta_accuracy}.py"

clean:
	rm -rf $(VENV) demo_out
