rule prepare_base_model:
    output:
        model=directory("results/model/base"),
    log:
        "logs/prepare_base_model.log",
    benchmark:
        "benchmarks/prepare_base_model.tsv"
    conda:
        "../../envs/llm.yaml"
    params:
        base_model=config["base_model"],
    script:
        "../scripts/prepare_base_model.py"


rule train_pt:
    input:
        model="results/model/base",
        info="results/datasets/dataset_info.json",
        train="results/datasets/pt_train.parquet",
        val="results/datasets/pt_val.parquet",
    output:
        state="results/train/pt/trainer_state.json",
        adapter=directory("results/train/pt/adapter"),
        config="results/train/pt/train_pt.yaml",
    log:
        "logs/train_pt.log",
    benchmark:
        "benchmarks/train_pt.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        stage=config["train_pt"],
    script:
        "../scripts/train.py"


rule train_sft:
    input:
        model="results/model/base",
        pt_adapter=pt_adapter_if_enabled,
        info="results/datasets/dataset_info.json",
        train="results/datasets/sft_train.parquet",
        val="results/datasets/sft_val.parquet",
    output:
        state="results/train/sft/trainer_state.json",
        adapter=directory("results/train/sft/adapter"),
        config="results/train/sft/train_sft.yaml",
    log:
        "logs/train_sft.log",
    benchmark:
        "benchmarks/train_sft.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        stage=config["train_sft"],
    script:
        "../scripts/train.py"


# Training for epochs, the checkpoints' steps are only known afterwards: the sweep's jobs are
# planned from this list once it exists (with max_steps they are planned from the config).
checkpoint sft_checkpoints:
    input:
        state="results/train/sft/trainer_state.json",
    output:
        steps="results/train/sft/checkpoints.json",
    log:
        "logs/sft_checkpoints.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/sft_checkpoints.py"


rule select_checkpoint:
    input:
        unpack(selection_inputs),
        state="results/train/sft/trainer_state.json",
    output:
        choice="results/train/sft/selected_checkpoint.json",
    log:
        "logs/select_checkpoint.log",
    conda:
        "../../envs/llm.yaml"
    params:
        by=config["select_checkpoint"]["by"],
    script:
        "../scripts/select_checkpoint.py"


rule merge:
    input:
        model="results/model/base",
        choice="results/train/sft/selected_checkpoint.json",
    output:
        model=directory("results/model/finetuned"),
        config="results/train/merge.yaml",
    log:
        "logs/merge.log",
    benchmark:
        "benchmarks/merge.tsv"
    conda:
        "../../envs/llm.yaml"
    threads: 8
    resources:
        gpu=1,
    params:
        merge=config["merge"],
    script:
        "../scripts/merge.py"
