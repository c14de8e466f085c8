# A url or hf source is fetched once (the file downloaded, the split written to parquet), then
# read by `shards` jobs (1 unless configured), merged by gather_corpus_source.
rule fetch_corpus_source:
    output:
        manifest="results/downloads/{source}.json",
    log:
        "logs/fetch_corpus_source/{source}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source=corpus_source,
    script:
        "../scripts/fetch_corpus_source.py"


rule download_corpus:
    input:
        files=corpus_shard_files,
        fetched=fetched_manifest,
    output:
        rows=temp("results/corpus/shards/{source}/{shard}.parquet"),
    log:
        "logs/download_corpus/{source}/{shard}.log",
    conda:
        "../../envs/data.yaml"
    params:
        source=corpus_source,
        shards=lambda wildcards: corpus_source(wildcards)["shards"],
    script:
        "../scripts/download_corpus.py"


rule gather_corpus_source:
    input:
        shards=corpus_shards,
    output:
        rows="results/corpus/raw/{source}.parquet",
    log:
        "logs/gather_corpus_source/{source}.log",
    conda:
        "../../envs/data.yaml"
    params:
        max_rows=lambda wildcards: corpus_source(wildcards)["max_rows"],
    script:
        "../scripts/gather_corpus_source.py"


rule build_pt_corpus:
    input:
        sources=expand("results/corpus/raw/{source}.parquet", source=SOURCES),
    output:
        corpus="results/corpus/pt_corpus.parquet",
        dropped="results/corpus/dropped.parquet",
        summary="results/corpus/summary.json",
    log:
        "logs/build_pt_corpus.log",
    conda:
        "../../envs/data.yaml"
    params:
        min_chars=config["corpus"]["min_chars"],
        near_duplicates=config["corpus"]["near_duplicates"],
    script:
        "../scripts/build_pt_corpus.py"


rule download_task_set:
    input:
        files=task_set_files,
    output:
        tasks="results/task_sets/{task_set}.jsonl",
        source="results/task_sets/{task_set}.source.json",
    log:
        "logs/download_task_set/{task_set}.log",
    conda:
        "../../envs/data.yaml"
    params:
        task_set=task_set_section,
    script:
        "../scripts/download_task_set.py"


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
        dropped="results/datasets/dropped.parquet",
        summary="results/datasets/summary.json",
    log:
        "logs/build_datasets.log",
    conda:
        "../../envs/data.yaml"
    params:
        datasets=config["datasets"],
    script:
        "../scripts/build_datasets.py"
