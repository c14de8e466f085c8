"""Run `llamafactory-cli train` / `export` on generated YAML, resumably, and collect outputs."""

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from shoplora.io.atomic import atomic_dir, atomic_path, share_modes, write_text
from shoplora.io.model_meta import read_model_meta, write_model_meta
from shoplora.io.process import die_with_parent
from shoplora.training.checkpoints import complete_checkpoints
from shoplora.training.launch import Launch, deepspeed_config, training_launch
from shoplora.training.lf_config import DEEPSPEED_CONFIG, export_yaml

DONE_MARKER = "shoplora_done.json"
CONFIG_COPY = "shoplora_config.yaml"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class RunLocked(RuntimeError):
    """Another trainer is writing the run folder."""


@contextlib.contextmanager
def run_lock(run_dir):
    """Hold the run folder's lock (a file beside it) for as long as a trainer writes it; yields
    the lock's file descriptor, which the trainer inherits, so the lock lasts as long as the
    trainer does even if this job is killed. RunLocked when another holds it."""
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    path = run_dir.parent / f".{run_dir.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"{run_dir}: another trainer is writing this run folder (it holds {path}); "
                "wait for it, or stop it, before training here again"
            ) from None
        yield fd
    finally:
        os.close(fd)


def prepare_run_dir(run_dir, cfg_text):
    """Keep a run folder only to resume it: same config, unfinished, with a checkpoint.

    A finished run or one trained with another config starts over; so does one killed
    before its first checkpoint (LLaMA-Factory refuses a non-empty folder it cannot resume).
    Returns "resume" or "fresh".
    """
    run_dir = Path(run_dir)
    previous = run_dir / CONFIG_COPY
    resumable = (
        run_dir.exists()
        and not (run_dir / DONE_MARKER).exists()
        and previous.exists()
        and previous.read_text() == cfg_text
        and complete_checkpoints(run_dir)
    )
    if resumable:
        # A checkpoint folder whose save was cut short would be picked up by the trainer.
        for path in run_dir.glob("checkpoint-*"):
            if path not in complete_checkpoints(run_dir).values():
                shutil.rmtree(path)
        return "resume"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / CONFIG_COPY).write_text(cfg_text)
    return "fresh"


def llamafactory(command, yaml_path, threads=None, log=sys.stderr, launch=None, keep_fds=()):
    """Run `llamafactory-cli command yaml_path`, or the given Launch (see launch.py).

    The trainer is killed when this process dies, however it dies. keep_fds: descriptors the
    trainer inherits (the run folder's lock)."""
    launch = launch or Launch(["llamafactory-cli", command, str(yaml_path)])
    env = {**os.environ, **launch.env}
    # The tools beside this interpreter (llamafactory-cli, torchrun), also when the
    # environment is not on PATH (`.venv/bin/snakemake` as the README shows it).
    env["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), env.get("PATH")]))
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("DISABLE_VERSION_CHECK", "1")
    shown = " ".join(f"{k}={v}" for k, v in launch.env.items())
    print(f"running: {shown + ' ' if shown else ''}{' '.join(launch.argv)}", file=log, flush=True)
    subprocess.run(
        launch.argv, check=True, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=keep_fds,
        preexec_fn=die_with_parent(signal.SIGKILL),
    )  # fmt: skip


def run_training(
    cfg, run_dir, yaml_out, state_out, adapter_out, threads=None, log=sys.stderr, resources=None, deepspeed_stage=0
):
    """Train (resuming an interrupted run), then copy trainer state and adapter to outputs.

    resources: the rule's resources (gpu, nodes, gres) deciding how training is launched.
    """
    cfg_text = yaml.safe_dump(cfg, sort_keys=True)
    run_dir = Path(run_dir)
    with run_lock(run_dir) as lock:
        mode = prepare_run_dir(run_dir, cfg_text)
        print(f"training run in {run_dir}: {mode}", file=log, flush=True)
        write_text(yaml_out, cfg_text)
        if deepspeed_stage:
            write_text(run_dir / DEEPSPEED_CONFIG, json.dumps(deepspeed_config(deepspeed_stage), indent=2) + "\n")
        launch = training_launch(run_dir / CONFIG_COPY, resources or {}, os.environ, deepspeed=bool(deepspeed_stage))
        llamafactory("train", run_dir / CONFIG_COPY, threads=threads, log=log, launch=launch, keep_fds=(lock,))
        share_modes(run_dir)  # its checkpoints are read by the sweep, perhaps by the team
        with atomic_dir(adapter_out) as tmp:
            for name in ADAPTER_FILES:
                shutil.copy2(run_dir / name, tmp / name)
        with atomic_path(state_out) as tmp:
            shutil.copy2(run_dir / "trainer_state.json", tmp)
        (run_dir / DONE_MARKER).write_text(json.dumps({"resumed": mode == "resume"}) + "\n")


def merge_adapter(model_dir, adapter_dir, export_dir, yaml_out, merge_cfg, chosen=None, log=sys.stderr, device="cpu"):
    """Merge base + adapter with `llamafactory-cli export` on `device` ("cuda" or "cpu"); record
    the template with the model."""
    meta = read_model_meta(model_dir)
    with atomic_dir(export_dir) as tmp:
        cfg = export_yaml(model_dir, adapter_dir, meta["template"], tmp, merge_cfg["export_size"], device)
        text = yaml.safe_dump(cfg, sort_keys=True)
        with atomic_path(yaml_out) as cfg_tmp:
            cfg_tmp.write_text(text)
        run_yaml = Path(str(tmp) + ".yaml")
        run_yaml.write_text(text)
        try:
            llamafactory("export", run_yaml, log=log)
        finally:
            run_yaml.unlink(missing_ok=True)
        meta.update(adapter=str(adapter_dir), chosen_checkpoint=chosen)
        write_model_meta(tmp, meta)
