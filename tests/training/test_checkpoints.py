import json

import pytest

from shoplora.training.checkpoints import NoCheckpointError, planned_steps, select


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


@pytest.mark.parametrize(
    ("max_steps", "eval_steps", "expected"),
    [(20, 5, [5, 10, 15, 20]), (22, 5, [5, 10, 15, 20, 22]), (3, 5, [3]), (4, 2, [2, 4]), (None, 5, None)],
)
def test_planned_steps_are_the_saves_the_trainer_makes(max_steps, eval_steps, expected):
    # transformers saves every save_steps (= eval_steps) and, with a step strategy, at the last step.
    assert planned_steps({"max_steps": max_steps, "eval_steps": eval_steps}) == expected


def test_dev_score_picks_the_best_dev_score_not_the_lowest_loss(tmp_path):
    run = make_run(tmp_path, [(5, 1.2), (10, 0.9), (15, 1.0)], [5, 10, 15])
    choice = select(run, by="dev_score", dev_scores={5: 0.40, 10: 0.35, 15: 0.55})
    assert choice["by"] == "dev_score" and choice["chosen"]["step"] == 15
    assert [(c["step"], c["dev_score"], c["eval_loss"]) for c in choice["candidates"]] == [
        (5, 0.40, 1.2),
        (10, 0.35, 0.9),
        (15, 0.55, 1.0),
    ]
    assert select(run)["chosen"]["step"] == 10 and select(run)["by"] == "val_loss"


def test_dev_score_ties_go_to_the_lower_loss_then_the_earlier_step(tmp_path):
    run = make_run(tmp_path, [(5, 1.2), (10, 0.9), (15, 0.9)], [5, 10, 15])
    assert select(run, by="dev_score", dev_scores={5: 0.5, 10: 0.5, 15: 0.5})["chosen"]["step"] == 10


def test_dev_score_counts_a_saved_but_unevaluated_checkpoint(tmp_path):
    run = make_run(tmp_path, [(5, 1.2)], [5, 7])
    choice = select(run, by="dev_score", dev_scores={5: 0.2, 7: 0.3})
    assert choice["chosen"]["step"] == 7 and choice["chosen"]["eval_loss"] is None


def test_dev_score_needs_a_score_for_every_checkpoint(tmp_path):
    run = make_run(tmp_path, [(5, 1.2), (10, 0.9)], [5, 10])
    with pytest.raises(NoCheckpointError, match=r"checkpoints \[10\] have no dev score"):
        select(run, by="dev_score", dev_scores={5: 0.4})
    with pytest.raises(ValueError, match="select_checkpoint.by must be one of"):
        select(run, by="accuracy")
