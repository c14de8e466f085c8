rule generate:
    input:
        seeds=config["seed_tasks"],
        prompt_templates=prompt_templates_of_provider,
        model=local_model_if_needed,
    output:
        raw="results/generated/{provider}/raw.jsonl",
        summary="results/generated/{provider}/summary.json",
    log:
        "logs/generate/{provider}.log",
    benchmark:
        "benchmarks/generate/{provider}.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    params:
        provider=provider_results,
        seed=config["generation"]["seed"],
    script:
        "../scripts/generate.py"


rule parse_generated:
    input:
        raw="results/generated/{provider}/raw.jsonl",
    output:
        tasks="results/generated/{provider}/tasks.jsonl",
        failures="results/generated/{provider}/parse_failures.jsonl",
        summary="results/generated/{provider}/parse_summary.json",
    log:
        "logs/parse_generated/{provider}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/parse_generated.py"
