# Ablation variants (config `ablations`): each trains and scores its own model, and reuses every
# output of the full recipe that its changed keys do not touch (config/ablations.py decides).


rule curate_ablation:
    input:
        unpack(ablation_generated_inputs),
        seeds=config["seed_tasks"],
        task_sets=expand("results/task_sets/{task_set}.jsonl", task_set=TASK_SETS),
        eval_sets=list(config["eval_sets"].values()),
    output:
        tasks="results/ablations/{variant}/curated/sft_tasks.jsonl",
        dropped="results/ablations/{variant}/curated/dropped.parquet",
        dropped_table="results/ablations/{variant}/curated/dropped.csv",
        report="results/ablations/{variant}/curated/curation_report.json",
    log:
        "logs/ablations/{variant}/curate_sft.log",
    conda:
        "../../envs/data.yaml"
    threads: config["curate"]["workers"]
    params:
        curate=ablation_curate_results,
        variant=lambda wildcards: wildcards.variant,
    script:
        "../scripts/curate_sft.py"


rule build_ablation_datasets:
    input:
        sft_tasks="results/ablations/{variant}/curated/sft_tasks.jsonl",
    output:
        sft_train="results/ablations/{variant}/datasets/sft_train.parquet",
        sft_val="results/ablations/{variant}/datasets/sft_val.parquet",
        info="results/ablations/{variant}/datasets/dataset_info.json",
        dropped="results/ablations/{variant}/datasets/dropped.parquet",
        summary="results/ablations/{variant}/datasets/summary.json",
    log:
        "logs/ablations/{variant}/build_datasets.log",
    conda:
        "../../envs/data.yaml"
    params:
        datasets=config["datasets"],
    script:
        "../scripts/build_datasets.py"


rule train_ablation_sft:
    input:
        unpack(ablation_sft_data),
        model="results/model/base",
        pt_adapter=ablation_pt_adapter,
    output:
        state="results/ablations/{variant}/train/sft/trainer_state.json",
        adapter=directory("results/ablations/{variant}/train/sft/adapter"),
        config="results/ablations/{variant}/train/sft/train_sft.yaml",
    log:
        "logs/ablations/{variant}/train_sft.log",
    benchmark:
        "benchmarks/ablations/{variant}/train_sft.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        stage=lambda wildcards: variant_sections(config, wildcards.variant)["train_sft"],
    script:
        "../scripts/train.py"


rule select_ablation_checkpoint:
    input:
        state="results/ablations/{variant}/train/sft/trainer_state.json",
    output:
        choice="results/ablations/{variant}/train/sft/selected_checkpoint.json",
    log:
        "logs/ablations/{variant}/select_checkpoint.log",
    conda:
        "../../envs/llm.yaml"
    params:
        by="val_loss",  # a dev-set sweep per variant would cost more than the variant itself
    script:
        "../scripts/select_checkpoint.py"


rule merge_ablation:
    input:
        model="results/model/base",
        choice="results/ablations/{variant}/train/sft/selected_checkpoint.json",
    output:
        model=directory("results/ablations/{variant}/model"),
        config="results/ablations/{variant}/train/merge.yaml",
    log:
        "logs/ablations/{variant}/merge.log",
    conda:
        "../../envs/llm.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        merge=config["merge"],
    script:
        "../scripts/merge.py"


rule ablation_table:
    input:
        scores=expand("results/scores/{model}/{task}.json", model=MODELS + ABLATION_MODELS, task=TASKS),
    output:
        csv="results/metrics/ablations.csv",
        md=report("results/metrics/ablations.md", category="Scores", caption="../report/ablations.rst"),
        json="results/metrics/ablations.json",
        plot=report("results/report/ablations.png", category="Scores", caption="../report/ablations.rst"),
    log:
        "logs/ablation_table.log",
    conda:
        "../../envs/data.yaml"
    params:
        table=config["metrics_table"],
        ablations=config["ablations"],
    script:
        "../scripts/ablation_table.py"
