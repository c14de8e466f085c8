import json

import pytest

from shoplora.training.checkpoints import NoCheckpointError, select


def make_run(tmp_path, evals, checkpoints, half_written=()):
    history = [{"step": s, "loss": 2.0} for s, _ in evals] + [{"step": s, "eval_loss": loss} for s, loss in evals]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    for step in checkpoints:
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "trainer_state.json").write_text("{}")
        if step not in half_written:
            (d / "adapter_model.safetensors").write_bytes(b"x")
    return tmp_path


def test_lowest_validation_loss_wins(tmp_path):
    choice = select(make_run(tmp_path, [(5, 1.2), (10, 0.9), (15, 1.0)], [5, 10, 15]))
    assert choice["chosen"]["step"] == 10 and choice["chosen"]["checkpoint"].endswith("checkpoint-10")
    assert [c["step"] for c in choice["candidates"]] == [5, 10, 15]


def test_ties_go_to_the_earlier_step(tmp_path):
    assert select(make_run(tmp_path, [(5, 0.8), (10, 0.8)], [5, 10]))["chosen"]["step"] == 5


def test_half_written_checkpoint_is_ignored(tmp_path):
    choice = select(make_run(tmp_path, [(5, 1.0), (10, 0.5)], [5, 10], half_written=[10]))
    assert choice["chosen"]["step"] == 5 and choice["evaluated_without_checkpoint"] == [10]


def test_single_evaluation(tmp_path):
    assert select(make_run(tmp_path, [(3, 1.5)], [3]))["chosen"]["step"] == 3


def test_no_evaluation_fails_clearly(tmp_path):
    with pytest.raises(NoCheckpointError, match="no evaluated step has a saved checkpoint"):
        select(make_run(tmp_path, [], [5]))
    with pytest.raises(NoCheckpointError, match="training did not finish"):
        select(tmp_path / "missing")
