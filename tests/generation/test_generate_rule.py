"""The generate rule fails loudly when a provider's requests do not get answers."""

import pytest

from shoplora.generation.client import TooManyFailures, check_success
from shoplora.generation.local_server import free_port

from conftest import make_workdir, run_snakemake
from helpers.fake_openai import FakeOpenAI


def test_check_success_names_counts_and_first_errors():
    requests = [{"id": str(i)} for i in range(10)]
    records = [{"id": str(i), "status": "success"} for i in range(8)]
    records += [
        {"id": "8", "status": "failure", "error": "http_503"},
        {"id": "9", "status": "failure", "error": "timeout"},
    ]
    check_success(records, requests, 0.8)  # 8 of 10 is enough
    with pytest.raises(TooManyFailures, match=r"only 8 of 10 requests succeeded .*first errors: http_503, timeout"):
        check_success(records, requests, 0.9)


@pytest.mark.workflow
def test_an_unreachable_provider_fails_generate_and_a_rerun_retries(tmp_path):
    port = free_port()  # nothing listens there yet
    hosted = {
        "kind": "openai",
        "model": "m",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "num_requests": 2,
        "seed_examples_per_prompt": 2,
        "tasks_per_request": 2,
        "max_retries": 0,
    }
    workdir = make_workdir(tmp_path, {"generation": {"providers": {"hosted": hosted}}})
    target = "results/generated/hosted/raw.jsonl"
    proc = run_snakemake(workdir, "--cores", "1", target, check=False)
    assert proc.returncode != 0
    log = (workdir / "logs/generate/hosted.log").read_text()
    assert "only 0 of 2 requests succeeded" in log and "connection:ConnectError" in log
    assert not (workdir / target).exists()
    server = FakeOpenAI(port=port).start()
    try:
        run_snakemake(workdir, "--cores", "1", target)
        assert len(server.received) == 2 and (workdir / target).exists()
    finally:
        server.shutdown()
