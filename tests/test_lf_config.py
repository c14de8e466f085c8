from shoplora.lf_config import export_yaml, pt_yaml, sft_yaml

STAGE = {"lora_rank": 4, "lora_alpha": 16, "lora_dropout": 0.08, "lora_target": "q_proj,v_proj",
         "learning_rate": 2e-5, "eval_steps": 100, "max_steps": None, "num_train_epochs": 1,
         "extra": {"packing": True, "flash_attn": "fa2"}}


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
