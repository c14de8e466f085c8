from shoplora.config.schema import section_defaults
from shoplora.training.lf_config import export_yaml, pt_yaml, sft_yaml

STAGE = section_defaults(
    "train_sft",
    lora_rank=4,
    lora_alpha=16,
    lora_dropout=0.08,
    lora_target="q_proj,v_proj",
    learning_rate=2e-5,
    eval_steps=100,
    max_steps=None,
    num_train_epochs=1,
    extra={"packing": True, "flash_attn": "fa2"},
)


def test_pt_yaml_uses_pt_data_and_saves_at_every_evaluation():
    cfg = pt_yaml(STAGE, "m", "yi", "data", "out")
    assert cfg["stage"] == "pt" and cfg["dataset"] == "shoplora_pt_train" and cfg["eval_dataset"] == "shoplora_pt_val"
    assert cfg["save_steps"] == cfg["eval_steps"] == 100
    assert cfg["lora_rank"] == 4 and cfg["lora_target"] == "q_proj,v_proj" and cfg["template"] == "yi"
    assert "max_steps" not in cfg and cfg["num_train_epochs"] == 1
    assert cfg["overwrite_output_dir"] is False
    assert cfg["packing"] is True and cfg["flash_attn"] == "fa2"  # passed through unchanged


def test_sft_continues_the_pt_adapter_with_answer_only_loss():
    cfg = sft_yaml(STAGE, "m", "smollm2", "data", "out", pt_adapter="results/train/pt/adapter")
    assert cfg["stage"] == "sft" and cfg["adapter_name_or_path"] == "results/train/pt/adapter"
    assert cfg["train_on_prompt"] is False
    assert "adapter_name_or_path" not in sft_yaml(STAGE, "m", "smollm2", "data", "out")


def test_export_yaml():
    cfg = export_yaml("base", "ckpt", "smollm2", "merged")
    assert cfg["adapter_name_or_path"] == "ckpt" and cfg["export_dir"] == "merged" and cfg["finetuning_type"] == "lora"
    # The merge runs on the GPU its job reserved (LLaMA-Factory's `auto`), on the CPU without one.
    assert cfg["export_device"] == "cpu"
    assert export_yaml("base", "ckpt", "smollm2", "merged", device="cuda")["export_device"] == "auto"


def test_workers_follow_the_jobs_cpus_and_small_sets_keep_one_tokeniser():
    small = sft_yaml(STAGE, "m", "smollm2", "data", "out", cpus=8, rows=300)
    assert small["preprocessing_num_workers"] == 1 and small["dataloader_num_workers"] == 6
    big = pt_yaml(STAGE, "m", "yi", "data", "out", cpus=8, rows=2_000_000)
    assert big["preprocessing_num_workers"] == 8 and big["dataloader_num_workers"] == 6
    laptop = sft_yaml(STAGE, "m", "smollm2", "data", "out", cpus=2, rows=300)
    assert laptop["preprocessing_num_workers"] == 1 and laptop["dataloader_num_workers"] == 0
    middle = pt_yaml(STAGE, "m", "yi", "data", "out", cpus=8, rows=35_000)
    assert middle["preprocessing_num_workers"] == 3
    one_cpu = pt_yaml(STAGE, "m", "yi", "data", "out", cpus=1, rows=2_000_000)
    assert one_cpu["preprocessing_num_workers"] == 1 and one_cpu["dataloader_num_workers"] == 0


def test_report_to_and_plot_loss_pass_through():
    assert sft_yaml(STAGE, "m", "smollm2", "data", "out")["report_to"] == "none"
    cfg = sft_yaml({**STAGE, "report_to": "tensorboard", "plot_loss": True}, "m", "smollm2", "data", "out")
    assert cfg["report_to"] == "tensorboard" and cfg["plot_loss"] is True


def test_deepspeed_stage_points_at_the_config_written_into_the_run():
    assert "deepspeed" not in sft_yaml(STAGE, "m", "smollm2", "data", "run")
    cfg = sft_yaml({**STAGE, "deepspeed_stage": 3}, "m", "smollm2", "data", "results/train/sft/run")
    assert cfg["deepspeed"] == "results/train/sft/run/shoplora_deepspeed.json"


def test_run_training_launches_with_the_rules_gpus(tmp_path, monkeypatch):
    """Which command run_training starts for 1 and 8 GPUs and DeepSpeed, without running it."""
    import json

    import shoplora.training.run as training

    started = []

    def fake_run(argv, check, env, stdout, stderr, **process):  # the launched trainer's side of the contract
        started.append((argv, {k: env.get(k) for k in ("FORCE_TORCHRUN", "NPROC_PER_NODE")}))
        run = tmp_path / "run"
        (run / "trainer_state.json").write_text("{}")
        for name in training.ADAPTER_FILES:
            (run / name).write_text("x")

    monkeypatch.setattr(training.subprocess, "run", fake_run)
    cfg = sft_yaml({**STAGE, "deepspeed_stage": 2}, "m", "smollm2", "data", tmp_path / "run")
    outputs = [tmp_path / "out.yaml", tmp_path / "state.json", tmp_path / "adapter"]
    training.run_training(cfg, tmp_path / "run", *outputs, resources={"gpu": 8}, deepspeed_stage=2)
    assert started[-1] == (
        ["llamafactory-cli", "train", str(tmp_path / "run/shoplora_config.yaml")],
        {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "8"},
    )
    written = json.loads((tmp_path / "run/shoplora_deepspeed.json").read_text())
    assert written["zero_optimization"]["stage"] == 2
