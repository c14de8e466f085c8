"""select_checkpoint: the saved checkpoint with the lowest validation loss."""

import json
import re
from pathlib import Path

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
COMPLETE_MARKERS = ("trainer_state.json", "adapter_model.safetensors")


class NoCheckpointError(RuntimeError):
    pass


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


def select(run_dir):
    """Choose the lowest-eval-loss checkpoint; ties go to the earlier step."""
    state_path = Path(run_dir) / "trainer_state.json"
    if not state_path.exists():
        raise NoCheckpointError(f"{state_path} not found: training did not finish")
    losses = eval_losses(json.loads(state_path.read_text()))
    checkpoints = complete_checkpoints(run_dir)
    candidates = [
        {"step": step, "eval_loss": loss, "checkpoint": str(checkpoints[step])}
        for step, loss in losses
        if step in checkpoints
    ]
    if not candidates:
        raise NoCheckpointError(
            f"{run_dir}: no evaluated step has a saved checkpoint "
            f"(evaluations at {[s for s, _ in losses]}, checkpoints at "
            f"{list(checkpoints)}); set eval_steps so evaluation happens"
        )
    best = min(candidates, key=lambda c: (c["eval_loss"], c["step"]))
    return {
        "rule": "lowest eval_loss among evaluated steps with a complete checkpoint; ties go to the earlier step",
        "chosen": best,
        "candidates": candidates,
        "evaluated_without_checkpoint": [s for s, _ in losses if s not in checkpoints],
    }
