"""An API key never reaches logs, outputs, reports or Snakemake's metadata."""

import os

import pytest
import yaml

from shoplora.config.schema import section_defaults

from conftest import make_workdir, run_snakemake
from helpers.fake_openai import FakeOpenAI

KEY = "sk-SHOPLORA-SECRET-7f3a9c1e5b"


def hosted(base_url, **kw):
    return section_defaults(
        "generation",
        "providers",
        "*",
        **{
            "kind": "openai",
            "model": "fake-model",
            "base_url": base_url,
            "api_key_env": "SHOPLORA_FAKE_KEY",
            "num_requests": 3,
            "seed_examples_per_prompt": 2,
            "tasks_per_request": 3,
            "max_concurrency": 2,
            "max_retries": 2,
            "backoff_base_s": 0.01,
            "backoff_cap_s": 0.01,
            "price_per_million": {"input": 0.5, "output": 1.5},
            **kw,
        },
    )


def files_containing(root, needle):
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            with open(path, "rb") as fh:
                if needle.encode() in fh.read():
                    hits.append(path)
    return hits


@pytest.mark.workflow
def test_fake_key_is_nowhere_in_what_the_run_wrote(tmp_path, monkeypatch):
    good = FakeOpenAI([(429, {"Retry-After": "0"})]).start()
    bad = FakeOpenAI([(401, {})] * 5).start()
    try:
        workdir = make_workdir(tmp_path)
        config_path = workdir / "config" / "config.yaml"
        config = yaml.safe_load(config_path.read_text())
        # Generation tasks: what the fake server's JSON answers are parts of.
        config["generation"]["providers"] = {
            "hosted": hosted(good.base_url, task_mix={"generation": 1}),
            "denied": hosted(bad.base_url),
        }
        config["verify"] = {"verifier": "hosted", "judge": "hosted"}
        config_path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("SHOPLORA_FAKE_KEY", KEY)

        # The quality gate asks the same provider; a judge that echoes the key in its answer
        # (as some gateways echo a request) must not get it into a verdict.
        good.responder = lambda body: (
            f"verdict for {KEY}" if "Given answer" in body["messages"][-1]["content"] else None
        )
        ok = run_snakemake(workdir, "--cores", "2", "results/verified/hosted/tasks.jsonl")
        denied = run_snakemake(workdir, "--cores", "2", "results/generated/denied/raw.jsonl", check=False)
    finally:
        good.shutdown()
        bad.shutdown()

    assert all(auth == f"Bearer {KEY}" for _, auth in good.received)  # the key was really used
    assert denied.returncode != 0
    log = (workdir / "logs/generate/denied.log").read_text()
    assert "401 Unauthorized: check the variable SHOPLORA_FAKE_KEY" in log
    summary = yaml.safe_load((workdir / "results/generated/hosted/summary.json").read_text())
    assert summary["success"] == 3 and summary["retries"] == 1 and summary["cost"] > 0
    assert "hosted" in (workdir / "logs/generate/hosted.log").read_text()
    verdicts = [yaml.safe_load(line) for line in (workdir / "results/verified/hosted/verdicts.jsonl").open()]
    assert verdicts and all(v["judge_error"] == "judge_not_json" for v in verdicts)
    for text in (ok.stdout, ok.stderr, denied.stdout, denied.stderr):
        assert KEY not in text
    assert files_containing(workdir, KEY) == []
    assert files_containing(workdir, "SHOPLORA_FAKE_KEY")  # the variable's name is fine to show
