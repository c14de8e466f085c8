rule infer:
    input:
        model=model_dir,
        tasks=eval_set,
    output:
        predictions="results/predictions/{model}/{task}.jsonl",
    log:
        "logs/infer/{model}/{task}.log",
    benchmark:
        "benchmarks/infer/{model}/{task}.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 1
    resources:
        gpu=1,
    params:
        infer=results_only(config["infer"], "infer"),
        template=config["base_model"]["template"],
    script:
        "../scripts/infer.py"
