# The release: the fine-tuned model, its adapter and the curated data, with their cards.


# Not part of `all`: `snakemake release` writes results/release/ (and pushes it with release.push).
rule release:
    input:
        unpack(release_train_configs),
        model="results/model/finetuned",
        base="results/model/base",
        choice="results/train/sft/selected_checkpoint.json",
        summary="results/metrics/summary.json",
        curation="results/curated/curation_report.json",
        sft_train="results/datasets/sft_train.parquet",
        sft_val="results/datasets/sft_val.parquet",
        pt_train="results/datasets/pt_train.parquet",
        pt_val="results/datasets/pt_val.parquet",
    output:
        folder=directory("results/release"),
    log:
        "logs/release.log",
    conda:
        "../../envs/llm.yaml"
    params:
        release=config["release"],
        sources=list(config["corpus"]["sources"]),
        providers={name: p["model"] for name, p in config["generation"]["providers"].items()},
    script:
        "../scripts/release.py"
