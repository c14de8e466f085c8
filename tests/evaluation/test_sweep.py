"""The checkpoint sweep table: the kit's aggregation per checkpoint, intervals, and the marks."""

import json

import numpy as np
import pytest

from shoplora.evaluation.sweep import losses_at, sweep_table, to_markdown
from shoplora.evaluation.uncertainty import bootstrap, paired_bootstrap
from shoplora.scoring.kit import score_predictions
from shoplora.tasks.records import load_tasks

from conftest import REPO

SETS = ("multiple-choice", "classification")


def scored(step, wrong_every):
    """Evaluate outputs for one checkpoint: every `wrong_every`-th answer is wrong."""
    out = []
    for name in SETS:
        tasks = load_tasks(REPO / f"resources/eval/{name}.jsonl", name)
        predictions = [
            {**t, "response": "9" if (i + 1) % wrong_every == 0 else str(t["output_field"])}
            for i, t in enumerate(tasks)
        ]
        result = score_predictions(predictions, "strict")
        out.append({**result, "model": f"checkpoint-{step}", "eval_set": name, "step": step})
    return out


STATE = {
    "log_history": [
        *({"step": s, "loss": 3.0 - 0.1 * s} for s in range(1, 7)),
        {"step": 2, "eval_loss": 1.5},
        {"step": 4, "eval_loss": 1.1},
        {"step": 6, "eval_loss": 1.3},
    ]
}
SELECTION = {"by": "val_loss", "chosen": {"step": 4}}


def test_each_checkpoint_is_aggregated_as_the_kit_does():
    scores = scored(2, 2) + scored(4, 3) + scored(6, 4)
    frame, summary = sweep_table(scores, STATE, SELECTION, resamples=500)
    assert summary["steps"] == [2, 4, 6]
    for step in (2, 4, 6):
        step_scores = [s for s in scores if s["step"] == step]
        tasks = [t for s in step_scores for t in s["per_task"]]
        overall = frame[(frame["step"] == step) & (frame["level"] == "overall")].iloc[0]
        assert overall["score"] == pytest.approx(np.mean([t["score"] for t in tasks]))
        assert overall["n"] == sum(s["n"] for s in step_scores)
        assert overall["ci_low"] <= overall["score"] <= overall["ci_high"]
        for task_type in SETS:
            row = frame[(frame["step"] == step) & (frame["task_type"] == task_type)].iloc[0]
            assert row["score"] == pytest.approx(np.mean([t["score"] for t in tasks if t["task_type"] == task_type]))
    # Fewer wrong answers at later steps: the best overall score is the last checkpoint, while the
    # validation loss was lowest at step 4 (the one selected).
    assert summary["best_score_step"] == 6 and summary["lowest_val_loss_step"] == 4
    assert summary["selected"] == {"step": 4, "by": "val_loss"}
    md = to_markdown(frame, summary)
    assert "| 4 | 2.6000 | 1.1000 |" in md and "lowest val loss, selected (val_loss)" in md
    assert md.splitlines()[-1].startswith("| 6 |") and md.splitlines()[-1].endswith("best score |")
    json.dumps(summary)  # the summary is written as JSON as it is


def test_a_perfect_checkpoint_has_a_zero_width_interval():
    frame, _ = sweep_table(scored(2, 10**9), STATE, SELECTION, resamples=200)
    assert (frame["score"] == 1.0).all() and (frame["ci_low"] == 1.0).all() and (frame["ci_high"] == 1.0).all()


def test_one_model_bootstrap_draws_as_the_paired_one():
    tasks = {}
    for s in scored(2, 3):
        for r in s["rows"]:
            tasks.setdefault(r["task_name"], (r["metric"], []))[1].append(r)
    alone = bootstrap(tasks, 300, seed=7)
    paired = paired_bootstrap({n: (m, rows, rows) for n, (m, rows) in tasks.items()}, 300, seed=7)
    for name in tasks:
        np.testing.assert_array_equal(alone[name], paired[name][0])


def test_losses_are_taken_at_or_before_each_step():
    state = {"log_history": [{"step": 5, "loss": 2.0}, {"step": 10, "loss": 1.0}, {"step": 8, "eval_loss": 1.7}]}
    assert losses_at(state, [4, 8, 12]) == {
        4: {"train_loss": None, "eval_loss": None},
        8: {"train_loss": 2.0, "eval_loss": 1.7},
        12: {"train_loss": 1.0, "eval_loss": None},
    }
