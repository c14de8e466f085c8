rule verify:
    input:
        tasks="results/generated/{provider}/tasks.jsonl",
        judge_prompts=judge_prompt_files,
        model=gate_model_if_needed,
        human=review_verdicts_file,
    output:
        tasks="results/verified/{provider}/tasks.jsonl",
        verdicts="results/verified/{provider}/verdicts.jsonl",
        table=report(
            "results/verified/{provider}/verdicts.csv",
            category="Quality gate",
            subcategory="{provider}",
            caption="../report/verdicts.rst",
        ),
        dropped="results/verified/{provider}/dropped.jsonl",
        summary="results/verified/{provider}/summary.json",
    log:
        "logs/verify/{provider}.log",
    benchmark:
        "benchmarks/verify/{provider}.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    params:
        verify=results_only(config["verify"], "verify"),
        providers=gate_provider_results,
        max_new_tokens=config["infer"]["max_new_tokens"],
        parse_mode=config["evaluate"]["parse_mode"],
    script:
        "../scripts/verify.py"


rule review_sheet:
    input:
        verdicts=expand("results/verified/{provider}/verdicts.jsonl", provider=PROVIDERS),
        tasks=expand("results/generated/{provider}/tasks.jsonl", provider=PROVIDERS),
        human=review_verdicts_file,
    output:
        sheet="results/review/sheet.csv",
        page=report(
            "results/review/review.html",
            category="Quality gate",
            caption="../report/review.rst",
        ),
        stats="results/review/review.json",
    log:
        "logs/review_sheet.log",
    conda:
        "../../envs/data.yaml"
    params:
        review=config["review"],
    script:
        "../scripts/review_sheet.py"
