"""The trainer process: it dies with its job, one trainer at a time writes a run folder, and
the environment's tools are found without the environment on PATH."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shoplora.training.launch import Launch
from shoplora.training.run import RunLocked, llamafactory, run_lock

# A job that holds the run folder's lock and starts a "trainer" (a long sleep) the way
# run_training starts llamafactory-cli, then prints the trainer's pid.
JOB = textwrap.dedent(
    """
    import sys, time
    from shoplora.training.launch import Launch
    from shoplora.training.run import llamafactory, run_lock

    class Announce:
        def write(self, text):
            if text.startswith("running:"):
                print("started", flush=True)
        def flush(self):
            pass
        def fileno(self):
            return sys.stderr.fileno()

    with run_lock(sys.argv[1]) as lock:
        llamafactory("train", "x", log=Announce(), launch=Launch(["sleep", "300"]), keep_fds=(lock,))
    """
)


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too; its parent (init) reaps it soon.
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower() if Path(f"/proc/{pid}").exists() else False


def test_the_trainer_dies_with_its_killed_job_and_the_folder_is_locked_meanwhile(tmp_path):
    """SIGKILL of the job left llamafactory-cli training (parent 1), and the re-run started a
    second trainer in the same folder."""
    run_dir = tmp_path / "results/train/sft/run"
    job = subprocess.Popen([sys.executable, "-c", JOB, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while not children(job.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        (trainer,) = children(job.pid)
        with pytest.raises(RunLocked, match="another trainer is writing this run folder"), run_lock(run_dir):
            pass
        job.send_signal(signal.SIGKILL)
        job.wait()
        deadline = time.monotonic() + 10
        while alive(trainer) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(trainer), "the trainer outlived its job"
        with run_lock(run_dir):  # free again once the trainer is gone
            pass
    finally:
        job.kill()


def test_tools_beside_the_interpreter_are_found_without_them_on_path(monkeypatch, tmp_path):
    """`.venv/bin/snakemake` without the venv on PATH ran four stages and then failed in
    train_pt: llamafactory-cli not found."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    found = subprocess.run(
        ["sh", "-c", "command -v llamafactory-cli"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}
    )
    assert found.returncode != 0  # not on this PATH
    output = tmp_path / "out.txt"
    with output.open("w") as log:
        llamafactory("x", "y", log=log, launch=Launch(["sh", "-c", "command -v llamafactory-cli"]))
    assert str(Path(sys.executable).parent / "llamafactory-cli") in output.read_text()
