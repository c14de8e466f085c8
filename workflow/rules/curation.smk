rule curate_sft:
    input:
        unpack(lambda wildcards: generated_inputs(config["curate"])),
        seeds=config["seed_tasks"],
        task_sets=expand("results/task_sets/{task_set}.jsonl", task_set=TASK_SETS),
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
    log:
        "logs/curate_sft.log",
    benchmark:
        "benchmarks/curate_sft.tsv"
    conda:
        "../../envs/data.yaml"
    threads: config["curate"]["workers"]
    params:
        curate=results_only(config["curate"], "curate"),
    script:
        "../scripts/curate_sft.py"
