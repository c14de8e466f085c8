rule evaluate:
    input:
        predictions="results/predictions/{model}/{task}.jsonl",
    output:
        scores="results/scores/{model}/{task}.json",
    log:
        "logs/evaluate/{model}/{task}.log",
    conda:
        "../../envs/llm.yaml"
    params:
        evaluate=config["evaluate"],
        label=lambda wildcards: wildcards.model,
    script:
        "../scripts/evaluate.py"


rule metrics_table:
    input:
        scores=expand("results/scores/{model}/{task}.json", model=MODELS, task=TASKS),
    output:
        csv="results/metrics/summary.csv",
        md=report("results/metrics/summary.md", category="Scores", caption="../report/table.rst"),
        json="results/metrics/summary.json",
    log:
        "logs/metrics_table.log",
    conda:
        "../../envs/data.yaml"
    params:
        table=config["metrics_table"],
    script:
        "../scripts/metrics_table.py"


rule report:
    input:
        unpack(loss_curve_inputs),
        choice="results/train/sft/selected_checkpoint.json",
        table="results/metrics/summary.json",
    output:
        loss_pt=report("results/report/loss_pt.png", category="Training", caption="../report/plots.rst"),
        loss_sft=report("results/report/loss_sft.png", category="Training", caption="../report/plots.rst"),
        scores=report("results/report/scores.png", category="Scores", caption="../report/plots.rst"),
    log:
        "logs/report.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/report.py"
