# Every target sets itself up from a fresh clone: the venv is created and the
# project installed on first use, and again whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

DK_INSTANCE := instances/dk-2020-almen-medicin/instance.yaml
DEFAULT_MODEL := models/population.yaml

.PHONY: run test bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## run: solve the bundled Danish instance with the default (population) model into out/
run: $(STAMP)
	$(BIN)/allocator solve $(DK_INSTANCE) --model $(DEFAULT_MODEL) --out out/dk-2020-almen-medicin --force

## test: run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## bench: time every backend and the PuLP + CBC baselines at four scales; writes benchmarks/results.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf out .pytest_cache .hypothesis benchmarks/.instances
