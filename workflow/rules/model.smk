rule prepare_base_model:
    output:
        model=directory("results/model/base"),
    params:
        base_model=config["base_model"],
    log:
        "logs/prepare_base_model.log",
    benchmark:
        "benchmarks/prepare_base_model.tsv"
    conda:
        "../../envs/llm.yaml"
    script:
        "../scripts/prepare_base_model.py"
