"""select_checkpoint: which saved SFT checkpoint becomes the fine-tuned model.

`val_loss` (the study's rule) takes the lowest validation loss; `dev_score` the best score on
a dev set, from the checkpoint sweep's scores. `planned_steps` says, before training, which
checkpoints a run with `max_steps` will save, so the sweep's jobs are in the DAG from the start.
"""

import json
import re
from pathlib import Path

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
COMPLETE_MARKERS = ("trainer_state.json", "adapter_model.safetensors")
SELECTION_RULES = {
    "val_loss": "lowest eval_loss among evaluated steps with a complete checkpoint; ties go to the earlier step",
    "dev_score": "highest dev-set score (kit-style mean over the dev tasks) among complete checkpoints; "
    "ties go to the lower eval_loss, then to the earlier step",
}


class NoCheckpointError(RuntimeError):
    pass


def checkpoint_dir(run_dir, step):
    return Path(run_dir) / f"checkpoint-{step}"


def planned_steps(stage_cfg):
    """Steps the trainer saves at with `max_steps` set: every `eval_steps` (save_steps follows
    eval_steps, lf_config.py) and the last step, which transformers always evaluates and saves.
    None when training runs for epochs: the steps depend on the dataset's size."""
    last, every = stage_cfg["max_steps"], stage_cfg["eval_steps"]
    if last is None:
        return None
    return sorted(set(range(every, last + 1, every)) | {last})


def complete_checkpoints(run_dir):
    """{step: folder} of checkpoints whose files were all written (a killed save is skipped)."""
    found = {}
    for path in Path(run_dir).glob("checkpoint-*"):
        match = _CHECKPOINT.match(path.name)
        if match and all((path / marker).exists() for marker in COMPLETE_MARKERS):
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def eval_losses(trainer_state):
    """[(step, eval_loss)] from a trainer_state.json log history, in step order."""
    return sorted(
        (int(e["step"]), float(e["eval_loss"])) for e in trainer_state.get("log_history", []) if "eval_loss" in e
    )


def _read_losses(run_dir):
    state_path = Path(run_dir) / "trainer_state.json"
    if not state_path.exists():
        raise NoCheckpointError(f"{state_path} not found: training did not finish")
    return eval_losses(json.loads(state_path.read_text()))


def select(run_dir, by="val_loss", dev_scores=None):
    """The chosen checkpoint and every candidate's values.

    by: `val_loss`, or `dev_score` with dev_scores {step: score} for every complete checkpoint.
    """
    if by not in SELECTION_RULES:
        raise ValueError(f"select_checkpoint.by must be one of {', '.join(SELECTION_RULES)}, not {by!r}")
    losses = _read_losses(run_dir)
    checkpoints = complete_checkpoints(run_dir)
    loss_of = dict(losses)
    if by == "val_loss":
        candidates = [
            {"step": step, "eval_loss": loss, "checkpoint": str(checkpoints[step])}
            for step, loss in losses
            if step in checkpoints
        ]
    else:
        unscored = [step for step in checkpoints if step not in (dev_scores or {})]
        if unscored:
            raise NoCheckpointError(f"{run_dir}: checkpoints {unscored} have no dev score")
        candidates = [
            {"step": step, "eval_loss": loss_of.get(step), "dev_score": dev_scores[step], "checkpoint": str(path)}
            for step, path in checkpoints.items()
        ]
    if not candidates:
        raise NoCheckpointError(
            f"{run_dir}: no evaluated step has a saved checkpoint "
            f"(evaluations at {[s for s, _ in losses]}, checkpoints at "
            f"{list(checkpoints)}); set eval_steps so evaluation happens"
        )
    if by == "val_loss":
        best = min(candidates, key=lambda c: (c["eval_loss"], c["step"]))
    else:
        no_loss = float("inf")
        best = min(
            candidates,
            key=lambda c: (-c["dev_score"], c["eval_loss"] if c["eval_loss"] is not None else no_loss, c["step"]),
        )
    return {
        "by": by,
        "rule": SELECTION_RULES[by],
        "chosen": best,
        "candidates": candidates,
        "evaluated_without_checkpoint": [s for s, _ in losses if s not in checkpoints],
    }
