rule curate_sft:
    input:
        seeds=config["seed_tasks"],
        task_sets=expand("results/task_sets/{task_set}.jsonl", task_set=TASK_SETS),
        generated=expand("results/generated/{provider}/tasks.jsonl", provider=PROVIDERS),
        eval_sets=list(config["eval_sets"].values()),
    output:
        tasks="results/curated/sft_tasks.jsonl",
        dropped="results/curated/dropped.parquet",
        dropped_table=report(
            "results/curated/dropped.csv",
            category="Data",
            caption="../report/dropped.rst",
        ),
        report=report(
            "results/curated/curation_report.json",
            category="Data",
            caption="../report/curation.rst",
        ),
    params:
        curate=config["curate"],
    log:
        "logs/curate_sft.log",
    benchmark:
        "benchmarks/curate_sft.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/curate_sft.py"


rule build_datasets:
    input:
        pt_corpus="results/corpus/pt_corpus.parquet",
        sft_tasks="results/curated/sft_tasks.jsonl",
    output:
        pt_train="results/datasets/pt_train.parquet",
        pt_val="results/datasets/pt_val.parquet",
        sft_train="results/datasets/sft_train.parquet",
        sft_val="results/datasets/sft_val.parquet",
        info="results/datasets/dataset_info.json",
    params:
        datasets=config["datasets"],
    log:
        "logs/build_datasets.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/build_datasets.py"


rule download_task_set:
    input:
        files=task_set_files,
    output:
        tasks="results/task_sets/{task_set}.jsonl",
    params:
        task_set=task_set_section,
    log:
        "logs/download_task_set/{task_set}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/download_task_set.py"
