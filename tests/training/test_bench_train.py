"""bench/bench_train.py runs on CPU with a tiny Yi-9B-shaped model, through real LLaMA-Factory."""

import json
import re
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def test_training_bench_runs_both_settings_on_cpu(tiny_model_dir, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench/bench_train.py"),
            "--tiny",
            "--layers",
            "1",
            "--steps",
            "2",
            "--tokenizer",
            str(tiny_model_dir),
            "--keep",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    rates = dict(re.findall(r"^(study|tuned): \d+ tokens in [\d.]+ s = (\d+) tokens/s", out, re.MULTILINE))
    assert set(rates) == {"study", "tuned"} and all(int(v) > 0 for v in rates.values()), out
    assert re.search(r"^tuned / study: [\d.]+x", out, re.MULTILINE), out
    # The time is the whole run's (the closing summary), not the running figure of step 1.
    for kind in ("study", "tuned"):
        seconds = float(re.search(rf"^{kind}: \d+ tokens in ([\d.]+) s", out, re.MULTILINE).group(1))
        history = json.loads((tmp_path / kind / "out/trainer_state.json").read_text())["log_history"]
        summary = next(e for e in history if "train_loss" in e)
        assert seconds == pytest.approx(summary["train_runtime"], abs=0.051), (kind, history)
    import yaml

    study = yaml.safe_load((tmp_path / "study/study.yaml").read_text())
    tuned = yaml.safe_load((tmp_path / "tuned/tuned.yaml").read_text())
    assert (
        study["per_device_train_batch_size"],
        study["gradient_accumulation_steps"],
        study["packing"],
        study["cutoff_len"],
    ) == (1, 2, False, 1024)
    assert tuned["packing"] is True and tuned["per_device_train_batch_size"] == 8
    config = (tmp_path / "model/config.json").read_text()
    assert '"num_key_value_heads": 1' in config and '"vocab_size": 64000' in config
