# Every target sets itself up from a fresh clone: the venv is created and the
# project installed from the lock file on first use, and again whenever the lock changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
# The one platform the lock is made for (CI and every developer machine).
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
LATEST := .venv-latest

DK_INSTANCE := instances/dk-2020-almen-medicin/instance.yaml
DK_KOMMUNER := instances/dk-2019-almen-medicin-kommuner/instance.yaml
DK_HORIZON := instances/dk-2021-almen-medicin-horizon/instance.yaml
# Debian packages the report tests use: the browser test's Chromium, the PDF checks' pdftotext and pdftoppm.
REPORT_TOOLS := chromium poppler-utils
DEFAULT_MODEL := models/population.yaml
OUT ?= out

INSTANCES := $(sort $(patsubst instances/%/instance.yaml,%,$(wildcard instances/*/instance.yaml)))
MODELS := $(sort $(patsubst models/%.yaml,%,$(wildcard models/*.yaml)))
PLANS := $(foreach i,$(INSTANCES),$(foreach m,$(MODELS),$(OUT)/$(i)/$(m)/plan.csv))
# population first: the reference every delta and the common cost are taken against.
COMPARE_MODELS := models/population.yaml $(filter-out models/population.yaml,$(sort $(wildcard models/*.yaml)))

.PHONY: run test test-latest lock bench bench-apportion bench-horizon-sensitivity fuzz setup clean all compare report-tools app bench-app

setup: $(STAMP)

# Exact versions and hashes from the lock, nothing resolved on the day; then the project
# itself, built by the locked setuptools (no build isolation, so nothing unpinned is fetched).
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

## lock: re-resolve requirements.lock from pyproject.toml (newest allowed versions, with hashes)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --generate-hashes --no-annotate $(LOCK_TARGET) \
		--upgrade --output-file $(LOCK)

## test-latest: the suite against the newest versions pyproject.toml allows, in .venv-latest (not the lock)
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[test]'
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/versions.txt
	@echo "testing against:"; cat $(LATEST)/versions.txt
	$(LATEST)/bin/python -m pytest -q --deselect tests/test_lock.py::test_the_installed_versions_are_the_locked_ones

## run: solve the bundled Danish instance with the default (population) model into out/dk-2020-almen-medicin/population/,
## the municipal instance with its Danish report (report.html, report.pdf) into out/dk-2019-almen-medicin-kommuner/population/,
## and the 2021-25 plan with its outlook to 2032 and its Danish report into out/dk-2021-almen-medicin-horizon/population/
run: $(STAMP)
	$(BIN)/allocator solve $(DK_INSTANCE) --model $(DEFAULT_MODEL) --out $(OUT)/dk-2020-almen-medicin/population --force
	$(BIN)/allocator solve $(DK_KOMMUNER) --model $(DEFAULT_MODEL) --out $(OUT)/dk-2019-almen-medicin-kommuner/population \
		--force --quiet --report --lang da
	$(BIN)/allocator solve $(DK_HORIZON) --model $(DEFAULT_MODEL) --out $(OUT)/dk-2021-almen-medicin-horizon/population \
		--force --report --lang da

## test: run the whole test suite (installs Debian's Chromium and poppler-utils first where it can: as root)
test: $(STAMP) report-tools
	$(BIN)/python -m pytest -q

## report-tools: the Debian packages of the report tests; as root with apt-get, else the tests skip naming them
report-tools:
	@if command -v chromium >/dev/null && command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(REPORT_TOOLS) from Debian for the report tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(REPORT_TOOLS) >/dev/null; \
	else echo "not root: the report tests that need $(REPORT_TOOLS) (Debian packages) will skip"; fi

## app: the what-if app (issue 16) on the municipal Danish instance, at http://127.0.0.1:8501/ (Ctrl-C stops it).
## The lock holds the app extra (Streamlit), so setup installs it here and for make test alike.
APP_PORT ?= 8501
app: $(STAMP)
	$(BIN)/allocator app $(DK_KOMMUNER) --model $(DEFAULT_MODEL) --model models/closed-practice.yaml \
		--model models/need-weighted.yaml --port $(APP_PORT)

## bench-app: the app's control-to-plan latency on the 98 municipalities -> benchmarks/app_results.md
bench-app: $(STAMP)
	$(BIN)/python -m benchmarks.app_latency

## bench: time every backend and the PuLP + CBC baselines at four scales; writes benchmarks/results.md
## (and benchmarks/horizon_results.md, benchmarks/sweep_results.md: sweep scenarios/s on municipal,
## benchmarks/sweep_horizon_results.md: multi-year sweeps)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.horizon
	$(BIN)/python -m benchmarks.diagnosis
	$(BIN)/python -m benchmarks.sweep
	$(BIN)/python -m benchmarks.sweep_horizon

## bench-horizon-sensitivity: the whole `allocator sensitivity` on the Danish horizon instance, median of 5,
## against `allocator solve` of the same instance -> benchmarks/sensitivity_horizon_results.md
bench-horizon-sensitivity: $(STAMP)
	nice -n 19 $(BIN)/python -m benchmarks.sensitivity_horizon

## bench-apportion: apportion at totals 10^3-10^12, the objective at 10^8, biproportional on Zürich -> benchmarks/apportionment.md
bench-apportion: $(STAMP)
	$(BIN)/python -m benchmarks.apportionment

## fuzz: 2,000 hostile XLSX and CSV inputs through `allocator solve`; writes benchmarks/fuzz_results.md
fuzz: $(STAMP)
	$(BIN)/python -m benchmarks.fuzz_files --count 2000

## all: every instance under every model into out/<instance>/<model>/, and out/index.md; reruns only what changed
all: $(OUT)/index.md

# One rule per (instance, model): a plan depends on every file of its instance and on its model file.
define plan_rule
$(OUT)/$(1)/$(2)/plan.csv: $(wildcard instances/$(1)/*) models/$(2).yaml | $(STAMP)
	$(BIN)/allocator solve instances/$(1)/instance.yaml --model models/$(2).yaml --out $(OUT)/$(1)/$(2) --force --quiet
endef
$(foreach i,$(INSTANCES),$(foreach m,$(MODELS),$(eval $(call plan_rule,$(i),$(m)))))

$(OUT)/index.md: $(PLANS) $(wildcard $(OUT)/*/comparison/comparison.md) | $(STAMP)
	$(BIN)/allocator index $(OUT)

## compare: every model side by side on each Danish instance into out/<instance>/comparison/ (with the municipal report)
compare: $(OUT)/dk-2020-almen-medicin/comparison/comparison.md $(OUT)/dk-2019-almen-medicin-kommuner/comparison/comparison.md

$(OUT)/dk-2020-almen-medicin/comparison/comparison.md: $(wildcard instances/dk-2020-almen-medicin/*) $(COMPARE_MODELS) | $(STAMP)
	$(BIN)/allocator compare $(DK_INSTANCE) $(addprefix --model ,$(COMPARE_MODELS)) --need-model models/need-weighted.yaml --out $(@D) --force

$(OUT)/dk-2019-almen-medicin-kommuner/comparison/comparison.md: $(wildcard instances/dk-2019-almen-medicin-kommuner/*) $(COMPARE_MODELS) | $(STAMP)
	$(BIN)/allocator compare $(DK_KOMMUNER) $(addprefix --model ,$(COMPARE_MODELS)) --need-model models/need-weighted.yaml --out $(@D) --force --report

clean:
	rm -rf out .pytest_cache .hypothesis benchmarks/.instances $(LATEST)
