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

bench: venv
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo_out
