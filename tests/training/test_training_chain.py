"""The training chain on the small workflow: merge equals base+adapter, and a killed
train_sft resumes from its newest complete checkpoint instead of starting over."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
import yaml

from shoplora.runtime.model import encode_prompt, load_template
from shoplora.training.checkpoints import complete_checkpoints

from conftest import run_snakemake, start_snakemake

pytestmark = pytest.mark.slow

PROMPT = "Which category fits 'Zenflow Yoga Mat'?\n0. Toys\n1. Sports & Outdoors\nAnswer with the number."


def greedy_tokens(model, prompt_ids, n=24):
    import torch

    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([prompt_ids]), do_sample=False, max_new_tokens=n, min_new_tokens=n, pad_token_id=0
        )
    return out[0, len(prompt_ids) :].tolist()


def test_merged_model_generates_the_same_tokens_as_base_plus_adapter(finished_run):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    results = finished_run / "results"
    meta = json.loads((results / "model/finetuned/shoplora_model.json").read_text())
    chosen = json.loads((results / "train/sft/selected_checkpoint.json").read_text())["chosen"]
    assert meta["adapter"] == chosen["checkpoint"]
    checkpoint = finished_run / chosen["checkpoint"]  # paths are relative to the working directory
    tokenizer = AutoTokenizer.from_pretrained(results / "model/finetuned")
    prompt_ids = encode_prompt(load_template(tokenizer, "smollm2"), tokenizer, PROMPT)

    merged = AutoModelForCausalLM.from_pretrained(results / "model/finetuned", dtype=torch.float32).eval()
    base = AutoModelForCausalLM.from_pretrained(results / "model/base", dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(base, checkpoint).eval()
    merged_tokens = greedy_tokens(merged, prompt_ids)
    assert merged_tokens == greedy_tokens(with_adapter, prompt_ids)
    # Merging rounds W + BA to float32: logits then differ by up to about 1.5e-4 (seen after
    # training on the generated tasks); the base model's differ by more than 1.
    tolerance = 1e-3
    with torch.no_grad():
        ids = torch.tensor([prompt_ids + merged_tokens])
        merged_logits = merged(ids).logits
        assert torch.allclose(merged_logits, with_adapter(ids).logits, atol=tolerance)
        # The comparison can fail: the trained adapter moves the logits away from the base model's.
        with with_adapter.disable_adapter():
            assert not torch.allclose(merged_logits, with_adapter(ids).logits, atol=tolerance)


def training_pids(workdir):
    """The `llamafactory-cli train` processes running in workdir."""
    out = subprocess.run(["pgrep", "-f", "llamafactory-cli train"], capture_output=True, text=True).stdout
    pids = []
    for pid in map(int, out.split()):
        try:
            if os.readlink(f"/proc/{pid}/cwd") == str(workdir):
                pids.append(pid)
        except OSError:  # ended meanwhile
            pass
    return pids


def test_killed_sft_resumes_from_its_newest_checkpoint(finished_run, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(finished_run, workdir, symlinks=True)
    config_path = workdir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["train_sft"].update(max_steps=6, eval_steps=2, per_device_train_batch_size=2, cutoff_len=128)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    target = "results/train/sft/trainer_state.json"
    run_dir = workdir / "results/train/sft/run"
    shutil.rmtree(run_dir)  # the copied run's checkpoints; the new config trains afresh anyway

    first = start_snakemake(workdir, "--cores", "2", target)
    deadline = time.monotonic() + 900
    while not complete_checkpoints(run_dir):
        assert first.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.3)
    # Preemption kills the job's processes (Snakemake itself runs on the login node).
    pids = training_pids(workdir)
    assert pids, "no training process found"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert first.wait(timeout=300) != 0
    saved = {
        step: (path / "adapter_model.safetensors").stat().st_mtime_ns
        for step, path in complete_checkpoints(run_dir).items()
    }
    resumed_from = max(saved)
    assert 2 <= resumed_from < 6

    (workdir / "logs/train_sft.log").unlink()  # the log is appended to; read the second job's only
    run_snakemake(workdir, "--cores", "2", target)
    log = (workdir / "logs/train_sft.log").read_text()
    assert "training run in results/train/sft/run: resume" in log
    # One loss line per optimisation step run by the second job: only the steps after the checkpoint.
    assert log.count("{'loss'") == 6 - resumed_from
    state = json.loads((workdir / target).read_text())
    assert state["global_step"] == 6 and state["max_steps"] == 6
    assert [e["step"] for e in state["log_history"] if "loss" in e] == list(range(1, 7))
    for step, mtime in saved.items():  # earlier checkpoints were kept, not written again
        assert (run_dir / f"checkpoint-{step}/adapter_model.safetensors").stat().st_mtime_ns == mtime
    assert (workdir / "results/train/sft/adapter/adapter_model.safetensors").exists()


def test_tensorboard_event_files_hold_the_losses_the_trainer_logged(finished_run):
    """train_sft.report_to: tensorboard (the small config sets it): event files are written
    during training and hold, step for step, the validation losses of the trainer's state."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = finished_run / "results/train/sft/run"
    folders = sorted({p.parent for p in run.rglob("events.out.tfevents.*")})
    assert folders, f"no TensorBoard event file under {run}"
    scalars = {}
    for folder in folders:
        events = EventAccumulator(str(folder))
        events.Reload()
        for tag in events.Tags()["scalars"]:
            scalars.setdefault(tag, {}).update({e.step: e.value for e in events.Scalars(tag)})
    assert "train/loss" in scalars and "eval/loss" in scalars, sorted(scalars)
    state = json.loads((finished_run / "results/train/sft/trainer_state.json").read_text())
    eval_losses = {e["step"]: e["eval_loss"] for e in state["log_history"] if "eval_loss" in e}
    assert scalars["eval/loss"] == pytest.approx(eval_losses, rel=1e-6)
    assert (run / "training_loss.png").stat().st_size > 0  # plot_loss: LLaMA-Factory's own plot
