# One job per model: the model is loaded once and answers every eval set, each written to its
# own predictions file (evaluate and --forcerun of one file work per set).
rule infer:
    input:
        model=model_dir,
        tasks=[config["eval_sets"][task] for task in TASKS],
    output:
        predictions=expand("results/predictions/{{model}}/{task}.jsonl", task=TASKS),
    log:
        "logs/infer/{model}.log",
    benchmark:
        "benchmarks/infer/{model}.tsv"
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
        "../scripts/infer.py"
