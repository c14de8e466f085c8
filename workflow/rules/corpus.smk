rule download_corpus:
    input:
        files=corpus_files,
    output:
        rows="results/corpus/raw/{source}.parquet",
    params:
        source=corpus_source,
    log:
        "logs/download_corpus/{source}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/download_corpus.py"


rule build_pt_corpus:
    input:
        sources=expand("results/corpus/raw/{source}.parquet", source=SOURCES),
    output:
        corpus="results/corpus/pt_corpus.parquet",
        dropped="results/corpus/dropped.parquet",
        summary="results/corpus/summary.json",
    params:
        min_chars=config["corpus"]["min_chars"],
    log:
        "logs/build_pt_corpus.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/build_pt_corpus.py"
