# The checkpoint sweep (evaluate.checkpoints: all or a list of steps) and checkpoint choice on a
# dev set (select_checkpoint.by: dev_score): every saved SFT checkpoint scored as the base model
# plus its LoRA adapter, one job per (checkpoint, eval or dev split), nothing merged.


rule check_dev_sets:
    input:
        eval_sets=list(config["eval_sets"].values()),
        dev_sets=list(config["select_checkpoint"]["dev_sets"].values()),
    output:
        check="results/sweep/dev/overlap_check.json",
    log:
        "logs/check_dev_sets.log",
    conda:
        "../../envs/data.yaml"
    params:
        eval_sets=config["eval_sets"],
        dev_sets=config["select_checkpoint"]["dev_sets"],
        curate=results_only(config["curate"], "curate"),
    script:
        "../scripts/check_dev_sets.py"


# One job per checkpoint and split: the base model with the checkpoint's adapter is loaded once
# and answers every set of the split, each written to its own predictions file.
rule infer_checkpoint:
    input:
        model="results/model/base",
        state="results/train/sft/trainer_state.json",
        tasks=[config["eval_sets"][task] for task in TASKS],
    output:
        predictions=expand("results/sweep/eval/predictions/step-{{step}}/{task}.jsonl", task=TASKS),
    log:
        "logs/infer_checkpoint/eval/step-{step}.log",
    benchmark:
        "benchmarks/infer_checkpoint/eval/step-{step}.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        infer=results_only(config["infer"], "infer"),
        template=config["base_model"]["template"],
        labels=[f"eval:{task}" for task in TASKS],
    script:
        "../scripts/infer_checkpoint.py"


if DEV_SETS:

    # Dev-set jobs wait for the overlap check, so no GPU time is spent on a leaking dev set.
    rule infer_checkpoint_dev:
        input:
            checked="results/sweep/dev/overlap_check.json",
            model="results/model/base",
            state="results/train/sft/trainer_state.json",
            tasks=[config["select_checkpoint"]["dev_sets"][task] for task in DEV_SETS],
        output:
            predictions=expand("results/sweep/dev/predictions/step-{{step}}/{task}.jsonl", task=DEV_SETS),
        log:
            "logs/infer_checkpoint/dev/step-{step}.log",
        benchmark:
            "benchmarks/infer_checkpoint/dev/step-{step}.tsv"
        conda:
            "../../envs/llm.yaml"
        threads: 1
        resources:
            gpu=1,
        params:
            infer=results_only(config["infer"], "infer"),
            template=config["base_model"]["template"],
            labels=[f"dev:{task}" for task in DEV_SETS],
        script:
            "../scripts/infer_checkpoint.py"


rule evaluate_checkpoint:
    input:
        predictions="results/sweep/{split}/predictions/step-{step}/{task}.jsonl",
    output:
        scores="results/sweep/{split}/scores/step-{step}/{task}.json",
    log:
        "logs/evaluate_checkpoint/{split}/step-{step}/{task}.log",
    conda:
        "../../envs/llm.yaml"
    params:
        evaluate=config["evaluate"],
        label=lambda wildcards: f"checkpoint-{wildcards.step}",
    script:
        "../scripts/evaluate.py"


rule sweep_report:
    input:
        scores=sweep_eval_scores,
        state="results/train/sft/trainer_state.json",
        choice="results/train/sft/selected_checkpoint.json",
    output:
        csv="results/sweep/sweep.csv",
        md=report("results/sweep/sweep.md", category="Checkpoint sweep", caption="../report/sweep.rst"),
        json="results/sweep/sweep.json",
        figure=report("results/report/sweep.png", category="Checkpoint sweep", caption="../report/sweep.rst"),
    log:
        "logs/sweep_report.log",
    conda:
        "../../envs/data.yaml"
    params:
        table=config["metrics_table"],
    script:
        "../scripts/sweep_report.py"
