"""The quality gate against a real HTTP server that plays verifier and judge with planted
behaviour: it answers every task with its true answer and judges a task's given answer against
it, so a task whose `output_field` was planted wrong must be caught, and a right one kept."""

import json
import re
from pathlib import Path

import pytest

from shoplora.config.schema import section_defaults
from shoplora.generation.client import TooManyFailures
from shoplora.generation.endpoint import Answering
from shoplora.tasks.records import task_id
from shoplora.tasks.types import spec
from shoplora.verification.gate import decide
from shoplora.verification.run import check_tasks

TEMPLATES = {
    t: Path(f"resources/prompts/judge/{t}.txt").read_text()
    for t in ("multiple-choice", "classification", "ranking", "retrieval", "named_entity_recognition", "generation")
}
MAX_NEW_TOKENS = section_defaults("infer")["max_new_tokens"]

# (task type, prompt, true answer, a wrong answer to plant)
CASES = [
    ("multiple-choice", "Which is a fruit?\n0. chair\n1. apple\n2. lamp\n3. sock\nGive only the number.", 1, 2),
    ("classification", "Is 'USB-C charger' electronics?\n0. yes\n1. no\nGive only the number.", 0, 1),
    ("ranking", "Rank for 'trail running shoes':\n1. sandal\n2. trail shoe\n3. road shoe\nBest first.", [2, 3, 1],
     [1, 3, 2]),
    ("retrieval", "Which are kitchen items?\n1. whisk\n2. tent\n3. ladle\n4. kayak\nGive the numbers.", [1, 3], [2, 4]),
    ("named_entity_recognition", "List the brands in: 'Nike socks beat Puma caps.'", ["Nike", "Puma"], ["socks"]),
    ("generation", "What does a travel mug keep warm?", "A travel mug keeps coffee or tea warm.", "Bananas."),
]  # fmt: skip
TRUTH = {prompt: answer for _, prompt, answer, _ in CASES}


def make_task(task_type, prompt, answer):
    task = {
        "task_type": task_type,
        "input_field": prompt,
        "output_field": answer,
        "metric": spec(task_type).default_metric,
        "task_name": f"generated_{task_type}",
        "source": "generated:test",
    }
    return {**task, "id": task_id(task)}


def tasks(planted=()):
    """One task per case; the cases whose type is in `planted` carry their wrong answer."""
    return [make_task(t, p, wrong if t in planted else right) for t, p, right, wrong in CASES]


def as_text(answer):
    return str(answer) if isinstance(answer, int) else json.dumps(answer)


def planted_model(judge_text=None, unreasonable=(), low_score=()):
    """The server's answers: the true answer to a task's prompt; a judge verdict that the given
    answer is correct when it equals the true one (judge_text: a fixed judge answer instead)."""

    def respond(body):
        content = body["messages"][-1]["content"]
        if content in TRUTH:
            return as_text(TRUTH[content])
        match = re.search(r"Task:\n(.*)\n\nGiven answer: (.*)\n\nAnswer with", content, re.DOTALL)
        if not match:
            return None
        if judge_text is not None:
            return judge_text
        prompt, given = match.group(1), json.loads(match.group(2))
        verdict = {
            "reasonable": prompt not in unreasonable,
            "answer_correct": given == TRUTH[prompt],
            "score": 2 if prompt in low_score else 4,
            "reason": "Checked against the catalogue.",
        }
        return json.dumps(verdict)

    return respond


def provider(srv, **kw):
    section = section_defaults(
        "generation", "providers", "*",
        **{"name": "judge", "kind": "openai", "model": "m", "base_url": srv.base_url, "num_requests": 1,
           "max_concurrency": 4, "max_retries": 1, "backoff_base_s": 0.05, "backoff_cap_s": 0.05, **kw},
    )  # fmt: skip
    return Answering(section, "sk-test-key-0123456789", srv.base_url)


def gate_config(**kw):
    return section_defaults("verify", **kw)


def run_gate(srv, tmp_path, task_list, human=None, judge_kw=None, provider_kw=None, **cfg_kw):
    cfg = gate_config(**cfg_kw)
    live = provider(srv, **(provider_kw or {}))
    judge = provider(srv, **{**(provider_kw or {}), **(judge_kw or {})})
    checks, judgments, stats = check_tasks(
        task_list, live, judge, cfg, TEMPLATES, MAX_NEW_TOKENS, "strict", tmp_path / "cache", None
    )
    return decide(task_list, checks, judgments, human or {}, cfg, "generated:test"), stats


@pytest.mark.parametrize("mode", ["drop", "flag"])
def test_planted_wrong_answers_are_caught_and_right_ones_kept(tmp_path, fake_openai, mode):
    srv = fake_openai()
    srv.responder = planted_model()
    planted = {"multiple-choice", "ranking", "named_entity_recognition", "generation"}
    task_list = tasks(planted)
    (kept, dropped, verdicts, summary), _ = run_gate(srv, tmp_path, task_list, mode=mode)

    by_type = {v["task_type"]: v for v in verdicts}
    for task_type, verdict in by_type.items():
        if task_type in planted:
            assert verdict["gate"] == "fail"
            # Checkable types disagree with the verifier first; free text only the judge can catch.
            first = "answer_disagrees" if spec(task_type).checkable else "judged_incorrect"
            assert verdict["gate_reasons"][0] == first
            assert "judged_incorrect" in verdict["gate_reasons"]
        else:
            assert verdict["gate"] == "pass" and verdict["gate_reasons"] == []
            assert verdict["judge"]["answer_correct"] is True
            if spec(task_type).checkable:
                assert verdict["agreement"] == 1.0 and len(verdict["answers"]) == 3
    if mode == "drop":
        assert {d["detail"] for d in dropped} == planted
        assert {d["reason"] for d in dropped if d["detail"] == "generation"} == {"judged_incorrect"}
        assert {d["reason"] for d in dropped if d["detail"] == "ranking"} == {"answer_disagrees"}
        assert {t["task_type"] for t in kept} == set(by_type) - planted
    else:
        assert dropped == [] and kept == task_list
        assert sum(s["flagged"] for s in summary.values()) == len(planted)
    for counts in summary.values():
        assert counts["rows_in"] == counts["kept"] + sum(counts["dropped_by_reason"].values())


def test_a_judged_unreasonable_or_low_scored_task_is_dropped_with_that_reason(tmp_path, fake_openai):
    srv = fake_openai()
    mc, cls = CASES[0][1], CASES[1][1]
    srv.responder = planted_model(unreasonable={mc}, low_score={cls})
    (kept, dropped, _, _), _ = run_gate(srv, tmp_path, tasks(), mode="drop")
    assert {d["detail"]: d["reason"] for d in dropped} == {
        "multiple-choice": "judged_unreasonable",
        "classification": "judged_low_score",
    }
    assert len(kept) == len(CASES) - 2


def test_samples_are_separate_requests_with_the_eval_answer_length(tmp_path, fake_openai):
    srv = fake_openai()
    srv.responder = planted_model()
    run_gate(srv, tmp_path, tasks(), samples=3, sampling={"temperature": 0.7, "seed": 10})
    answers = [b for b in srv.bodies if b["messages"][-1]["content"] in TRUTH]
    checkable = [c for c in CASES if spec(c[0]).checkable]
    assert len(answers) == 3 * len(checkable)
    for task_type, prompt, _, _ in checkable:
        own = [b for b in answers if b["messages"] == [{"role": "user", "content": prompt}]]
        assert sorted(b["seed"] for b in own) == [10, 11, 12]
        assert {b["max_tokens"] for b in own} == {MAX_NEW_TOKENS[task_type]}
        assert {b["temperature"] for b in own} == {0.7}


def test_a_resumed_run_buys_nothing_and_a_changed_judge_buys_only_the_judge_again(tmp_path, fake_openai):
    srv = fake_openai()
    srv.responder = planted_model()
    task_list = tasks({"ranking"})
    first, _ = run_gate(srv, tmp_path, task_list, mode="drop")
    bought = len(srv.bodies)
    again, stats = run_gate(srv, tmp_path, task_list, mode="drop")
    assert len(srv.bodies) == bought and again == first
    assert stats["answers"]["todo"] == 0 and stats["judge"]["todo"] == 0

    run_gate(srv, tmp_path, task_list, mode="drop", judge_kw={"model": "a-stronger-judge"})
    new = srv.bodies[bought:]
    assert len(new) == len(task_list) and {b["model"] for b in new} == {"a-stronger-judge"}


def test_a_task_killed_mid_run_rebuys_only_what_had_no_answer(tmp_path, fake_openai):
    srv = fake_openai()
    srv.responder = planted_model()
    task_list = tasks()
    run_gate(srv, tmp_path, task_list[:2])  # a run that stopped after two tasks
    bought = len(srv.bodies)
    run_gate(srv, tmp_path, task_list)
    asked_again = [b["messages"][-1]["content"] for b in srv.bodies[bought:]]
    assert not any(t["input_field"] == prompt for t in task_list[:2] for prompt in asked_again)


@pytest.mark.parametrize(
    ("judge_text", "reason"),
    [
        ("The task looks fine to me.", "judge_not_json"),
        ('{"reasonable": true, "answer_correct": true, "score": 9, "reason": "ok"}', "judge_schema:score"),
        ('{"reasonable": true, "answer_correct": true, "reason": "ok"}', "judge_schema:score"),
    ],
)
def test_an_unreadable_judge_answer_is_a_recorded_failure(tmp_path, fake_openai, judge_text, reason):
    srv = fake_openai()
    srv.responder = planted_model(judge_text=judge_text)
    (kept, dropped, verdicts, summary), _ = run_gate(srv, tmp_path, tasks({"multiple-choice"}), mode="drop")
    assert all(v["judge"] is None and v["judge_error"] == reason for v in verdicts)
    # No verdict is no objection: only the verifier's disagreement drops a task.
    assert [(d["detail"], d["reason"]) for d in dropped] == [("multiple-choice", "answer_disagrees")]
    assert next(v for v in verdicts if v["task_type"] == "generation")["gate"] == "unverified"
    assert sum(s["judge_failures"].get(reason.split(":")[0], 0) for s in summary.values()) == len(CASES)


def test_failed_requests_leave_tasks_unverified_never_dropped(tmp_path, fake_openai):
    srv = fake_openai([(503, {})] * 200)  # every try fails
    srv.responder = planted_model()
    lenient = {"min_success_fraction": 0.0}
    (kept, dropped, verdicts, summary), _ = run_gate(
        srv, tmp_path, tasks({"ranking"}), mode="drop", provider_kw=lenient
    )
    assert dropped == [] and len(kept) == len(CASES)
    assert {v["gate"] for v in verdicts} == {"unverified"}
    assert {v["judge_error"] for v in verdicts} == {"request_failed:http_503"}
    assert sum(s["answer_requests_failed"] for s in summary.values()) == 3 * 5


def test_a_verifier_that_cannot_be_reached_stops_the_job_for_a_retry(tmp_path, fake_openai):
    srv = fake_openai([(503, {})] * 200)
    srv.responder = planted_model()
    with pytest.raises(TooManyFailures, match="only 0 of 15 requests succeeded"):
        run_gate(srv, tmp_path, tasks(), mode="drop")


def test_reviewer_verdicts_drop_exactly_the_bad_and_keep_the_ok(tmp_path, fake_openai):
    srv = fake_openai()
    srv.responder = planted_model()
    task_list = tasks({"multiple-choice"})
    ids = {t["task_type"]: t["id"] for t in task_list}
    human = {ids["ranking"]: "bad", ids["generation"]: "bad", ids["multiple-choice"]: "ok"}
    (kept, dropped, verdicts, summary), _ = run_gate(srv, tmp_path, task_list, human=human, mode="drop")
    assert sorted(d["id"] for d in dropped) == sorted([ids["ranking"], ids["generation"]])
    assert {d["reason"] for d in dropped} == {"human_rejected"}
    # The reviewer's `ok` keeps a task the verifier disagrees with; the gate's verdict stays recorded.
    mc = next(v for v in verdicts if v["task_type"] == "multiple-choice")
    assert mc["decision"] == "kept" and mc["gate"] == "fail" and mc["human_verdict"] == "ok"
    assert summary["multiple-choice"]["human_kept"] == 1
    assert sum(s["human_rejected"] for s in summary.values()) == 2
