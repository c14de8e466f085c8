# The checkpoint sweep (evaluate.checkpoints: all or a list of steps) and checkpoint choice on a
# dev set (select_checkpoint.by: dev_score): every saved SFT checkpoint scored as the base model
# plus its LoRA adapter, one inference job per split (eval or dev), nothing merged.


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


# One job per split: every swept checkpoint answers every set of the split (one vLLM engine
# serving all their adapters, or the base model with each adapter folded in turn), written as
# step-<step>/<set>.jsonl in the split's predictions folder.
rule infer_checkpoint:
    input:
        checked=dev_check_if_dev,
        model="results/model/base",
        state="results/train/sft/trainer_state.json",
        tasks=sweep_set_files,
    output:
        predictions=directory("results/sweep/{split}/predictions"),
    log:
        "logs/infer_checkpoint/{split}.log",
    benchmark:
        "benchmarks/infer_checkpoint/{split}.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        infer=results_only(config["infer"], "infer"),
        template=config["base_model"]["template"],
        sets=sweep_sets,
        steps=lambda wildcards: SWEEP if wildcards.split == "eval" else "all",
    script:
        "../scripts/infer_checkpoint.py"


rule evaluate_checkpoint:
    input:
        predictions="results/sweep/{split}/predictions",
    output:
        scores="results/sweep/{split}/scores/step-{step}/{task}.json",
    log:
        "logs/evaluate_checkpoint/{split}/step-{step}/{task}.log",
    conda:
        "../../envs/llm.yaml"
    params:
        evaluate=config["evaluate"],
        label=lambda wildcards: f"checkpoint-{wildcards.step}",
        file=lambda wildcards: f"step-{wildcards.step}/{wildcards.task}.jsonl",  # in the predictions folder
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
