"""The gate's benchmark plants wrong answers and counts what the gate catches: against a server
that knows every true answer, it must catch every planted task and flag no original."""

import json
import subprocess
import sys

import pytest
from verification.test_gate import CASES, make_task, planted_model

from conftest import REPO

pytestmark = pytest.mark.workflow  # runs a bench script


def test_the_bench_catches_every_planted_answer_with_a_verifier_that_knows_them(tmp_path, fake_openai):
    srv = fake_openai()
    srv.responder = planted_model()
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(make_task(t, p, right)) + "\n" for t, p, right, _ in CASES))
    out = tmp_path / "figures.json"
    bench = [str(REPO / "bench/bench_gate.py"), "--tasks", str(tasks), "--base-url", srv.base_url]
    printed = subprocess.run(
        [sys.executable, *bench, "--samples", "1", "3", "--cache", str(tmp_path / "cache"), "--json", str(out)],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    # The one generation task has no other task's answer to plant.
    assert "6 generated tasks, 5 planted copies" in printed
    one, three = json.loads(out.read_text())
    for figures in (one, three):
        assert figures["planted"]["failed_gate"] == 1.0 and figures["original"]["failed_gate"] == 0.0
        assert figures["planted"]["answer_disagrees"] == 1.0 and figures["planted"]["answer_checked"] == 5
        assert figures["planted"]["judged_incorrect"] == 1.0 and figures["original"]["judged_incorrect"] == 0.0
    # A copy shares its original's prompt, so its blind answers are bought once for both; samples
    # 3 buys only the two samples it adds per checkable prompt, and no judge request again.
    assert one["requests_bought"] == 5 + 11 and three["requests_bought"] == 2 * 5
