"""Structured generation: part schemas, assembly, JSON parsing, request bodies, fallback, resume."""

import io
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from shoplora.config.schema import section_defaults
from shoplora.generation.client import read_cache, run_requests
from shoplora.generation.modes import run_with_fallback
from shoplora.generation.parse import parse_json_item, parse_responses, schema_reason
from shoplora.generation.parts import RESPONSE_NAME, assemble, disassemble, response_schema
from shoplora.generation.prompts import build_requests, split_requests
from shoplora.tasks.records import load_tasks
from shoplora.tasks.types import spec, task_types
from shoplora.tasks.validity import invalid_reason

from conftest import REPO

SEEDS = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
TEMPLATES = {p.stem: p.read_text() for p in (REPO / "resources/prompts").glob("*.txt")}
# Lists whose order a shuffle may change; the rest keep their order.
UNORDERED = {"wrong", "irrelevant", "other_labels", "relevant"}


def test_there_is_one_schema_and_one_prompt_per_task_type():
    assert set(task_types()) == set(TEMPLATES)
    assert all(spec(t).parts_schema["type"] == "object" for t in task_types())
    for text in TEMPLATES.values():
        assert all(f"{{{name}}}" in text for name in ("k", "n", "examples", "format"))


def _same_parts(a, b):
    return all(sorted(a[k]) == sorted(b[k]) if k in UNORDERED else a[k] == b[k] for k in a)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda t: f"{t['task_type']}-{t['id']}")
def test_every_seed_is_shown_as_schema_valid_parts_that_rebuild_it(seed):
    """A seed shown as parts is schema-valid, and its parts assemble into a valid task whose
    parts are the seed's again: the answer still points at the same option texts."""
    parts = disassemble(seed)
    assert parts is not None and schema_reason(seed["task_type"], parts) is None
    record, reason = parse_json_item(seed["task_type"], parts)
    assert reason is None, reason
    assert _same_parts(disassemble(record), parts)


options = st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=12)


@given(
    correct=options,
    wrong=st.lists(options, min_size=3, max_size=3),
    best_first=st.lists(options, min_size=5, max_size=5),
    relevant=st.lists(options, min_size=1, max_size=3),
    irrelevant=st.lists(options, min_size=3, max_size=7),
)
def test_assembled_tasks_are_valid_by_construction(correct, wrong, best_first, relevant, irrelevant):
    """Whatever option texts a model writes, a task is either valid or dropped with a reason."""
    question = "Which one suits the shopper?"
    cases = {
        "multiple-choice": {"question": question, "correct": correct, "wrong": wrong},
        "classification": {"question": question, "correct_label": correct, "other_labels": wrong},
        "ranking": {"question": question, "products_best_first": best_first},
        "retrieval": {"question": question, "relevant": relevant, "irrelevant": irrelevant},
    }
    for task_type, parts in cases.items():
        built, reason = assemble(task_type, parts)
        if built is None:
            assert reason == "too_few_distinct_options"
            continue
        prompt, answer = built
        record = {"task_type": task_type, "input_field": prompt, "output_field": answer}
        assert invalid_reason(record) is None, (task_type, parts, prompt, answer)


def test_repeats_and_copied_numbering_are_left_out_or_dropped():
    (prompt, answer), _ = assemble(
        "multiple-choice", {"question": "Pick the fruit.", "correct": "2. Apple", "wrong": ["Chair", "chair", "Lamp"]}
    )
    assert ". 2. Apple" not in prompt and prompt.count("Chair") == 1  # numbering cut, repeats left out
    assert prompt.splitlines()[answer + 1] == f"{answer}. Apple"
    assert assemble("multiple-choice", {"question": "q", "correct": "A", "wrong": ["A", "a", "b"]}) == (
        None,
        "too_few_distinct_options",
    )
    built, _ = assemble(
        "named_entity_recognition",
        {"text": "Aquella pitcher made of glass.", "question": "Brands?", "entities": ["Aquella", "Nestwatch"]},
    )
    assert built[1] == ["Aquella"]  # an entity the text does not contain cannot be extracted
    assert assemble("named_entity_recognition", {"text": "abc def", "question": "q", "entities": ["x"]})[1] == (
        "no_entity_in_text"
    )


def raw(text, task_type="multiple-choice", output="json_schema", **kw):
    return {"id": "r", "status": "success", "finish_reason": "stop", "text": text, "task_type": task_type,
            "output": output, "tasks_asked": 3, **kw}  # fmt: skip


def test_json_responses_give_tasks_and_a_reason_for_every_item_that_fails():
    good = {"question": "Which one is a fruit?", "correct": "Apple", "wrong": ["Chair", "Lamp", "Sock"]}
    text = json.dumps(
        {"tasks": [good, {"question": "Which is it?", "correct": "A"}, dict(good, wrong=["Apple", "apple", "x"])]}
    )
    tasks, failures, summary = parse_responses(
        [
            raw(text),
            raw("```json\n" + json.dumps([good]) + "\n```"),  # JSON mode with a fence, a bare list
            raw("not json at all"),
            raw('{"tasks": [{"question": "Which', finish_reason="length", usage={"completion_tokens": 9}, max_tokens=9),
            raw('{"items": []}'),
            {"id": "f", "status": "failure", "error": "timeout", "task_type": "multiple-choice", "tasks_asked": 3},
        ],
        "p",
    )
    assert len(tasks) == 2 and {t["source"] for t in tasks} == {"generated:p"}
    assert all(invalid_reason(t) is None for t in tasks)
    assert sorted(f["reason"] for f in failures) == [
        "no_tasks_list",
        "not_json",
        "request_failed",
        "schema:item:required",
        "too_few_distinct_options",
        "truncated_by_length",
    ]
    assert summary["multiple-choice"] == {
        "requested": 18,
        "read": 4,
        "valid": 2,
        "failures": {
            "no_tasks_list": 1,
            "not_json": 1,
            "request_failed": 1,
            "schema:item:required": 1,
            "too_few_distinct_options": 1,
            "truncated_by_length": 1,
        },
    }


def test_requests_are_split_by_the_mix_and_add_up():
    assert split_requests({"ranking": 1, "generation": 1}, 5) == {"ranking": 3, "generation": 2}
    assert split_requests(dict.fromkeys(task_types(), 1), 12) == dict.fromkeys(task_types(), 2)
    assert split_requests({"ranking": 0.7, "generation": 0.3, "retrieval": 0}, 10) == {"ranking": 7, "generation": 3}
    assert sum(split_requests({"ranking": 1, "generation": 2, "retrieval": 4}, 11).values()) == 11


def settled(srv, answers, timeout=5):
    """The server counts an answer just after writing it: wait until it has counted `answers`."""
    deadline = time.monotonic() + timeout
    while sum(srv.served_ok.values()) < answers and time.monotonic() < deadline:
        time.sleep(0.01)
    return srv.served_ok


def provider(base_url, **kw):
    settings = {
        "name": "p",
        "kind": "openai",
        "model": "m",
        "base_url": base_url,
        "num_requests": 6,
        "seed_examples_per_prompt": 2,
        "tasks_per_request": 2,
        "max_concurrency": 2,
        "max_retries": 0,
        "task_mix": {"generation": 1},  # the fake server writes generation parts
        "timeouts": {"connect": 5, "read": 10, "total": 20},
    }
    return section_defaults("generation", "providers", "*", **{**settings, **kw})


def test_each_request_asks_for_one_task_type_with_examples_of_it():
    prov = provider("http://x/v1", task_mix={"ranking": 1, "named_entity_recognition": 2})
    requests = build_requests(prov, SEEDS, TEMPLATES)
    assert [r["task_type"] for r in requests] == ["ranking"] * 2 + ["named_entity_recognition"] * 4
    by_id = {t["id"]: t for t in SEEDS}
    for request in requests:
        assert {by_id[s]["task_type"] for s in request["seed_ids"]} == {request["task_type"]}
        assert f"every task is {request['task_type'].replace('_', '-').split('-')[0]}" in (
            request["messages"][0]["content"].lower().replace("named-entity", "named")
        )
    with pytest.raises(ValueError, match="asks for ranking tasks .* seed tasks have none"):
        build_requests(prov, [t for t in SEEDS if t["task_type"] != "ranking"], TEMPLATES)


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "text"])
def test_hosted_request_bodies_carry_the_output_mode(tmp_path, fake_openai, mode):
    srv = fake_openai()
    prov = provider(srv.base_url, output=mode)
    run_requests(prov, build_requests(prov, SEEDS, TEMPLATES), tmp_path / "cache.jsonl")
    assert len(srv.bodies) == 6
    for body in srv.bodies:
        if mode == "json_schema":
            spec = body["response_format"]["json_schema"]
            assert body["response_format"]["type"] == "json_schema" and spec["name"] == RESPONSE_NAME
            assert spec["schema"] == response_schema("generation", 2)
            Draft202012Validator.check_schema(spec["schema"])
        elif mode == "json_object":
            assert body["response_format"] == {"type": "json_object"}
            assert '"tasks"' in body["messages"][0]["content"]
        else:
            assert "response_format" not in body and "###" in body["messages"][0]["content"]


@pytest.mark.parametrize(
    ("rejected", "used"), [({"json_schema"}, "json_object"), ({"json_schema", "json_object"}, "text")]
)
def test_a_provider_that_rejects_response_format_falls_back_once(tmp_path, fake_openai, rejected, used):
    srv = fake_openai()
    srv.reject_formats = rejected
    prov = provider(srv.base_url)
    cache, log = tmp_path / "cache.jsonl", io.StringIO()

    def requests_for(mode):
        return build_requests(prov, SEEDS, TEMPLATES, mode=mode)

    mode, requests, stats = run_with_fallback(prov, requests_for, cache, log=log)
    assert mode == used and stats["output"] == used and stats["success"] == 6
    assert log.getvalue().count("falling back") == len(rejected)
    assert "rejected response_format json_schema" in log.getvalue()
    types = [(b.get("response_format") or {}).get("type") for b in srv.bodies]
    # one refused request per rejected mode (the run stops at the first), then the used mode only
    assert types.count("json_schema") <= 2 and types[-6:] == [None if used == "text" else used] * 6
    tasks, failures, summary = parse_responses(read_cache(cache), "p")
    assert len(tasks) == (12 if used != "text" else 18) and summary["generation"]["valid"] == len(tasks)

    # A re-run falls back the same way and finds every answer in the cache.
    bought = sum(settled(srv, 6).values())
    assert run_with_fallback(prov, requests_for, cache, log=io.StringIO())[2]["skipped_cached"] == 6
    assert sum(srv.served_ok.values()) == bought


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "text"])
def test_resume_buys_only_what_is_missing_in_every_mode(tmp_path, fake_openai, mode):
    srv = fake_openai([(503, {}), "ok", (503, {})])
    prov = provider(srv.base_url, output=mode)
    requests = build_requests(prov, SEEDS, TEMPLATES)
    cache = tmp_path / "cache.jsonl"
    first = run_requests(prov, requests, cache)
    assert first["success"] == 4 and first["failure"] == 2
    second = run_requests(prov, requests, cache)
    assert second["todo"] == 2 and second["success"] == 2
    assert all(n == 1 for n in settled(srv, 6).values()) and len(srv.served_ok) == 6
    tasks, _, summary = parse_responses(read_cache(cache), "p")
    assert summary["generation"]["valid"] == len(tasks) > 0


def test_a_response_cut_by_its_token_budget_keeps_the_items_closed_before_the_cut():
    good = {"instruction": "Describe the mug in one line.", "answer": "A mug that keeps tea hot."}
    text = json.dumps({"tasks": [good, dict(good, instruction="Describe the lamp in one line.")]})
    cut = text[: text.rindex("lamp") + 4]
    record = raw(cut, "generation", finish_reason="length", usage={"completion_tokens": 50}, max_tokens=50)
    tasks, failures, summary = parse_responses([record], "p")
    assert [t["input_field"] for t in tasks] == [good["instruction"]]
    assert failures == [
        {
            "id": "r#1",
            "source": "generated:p",
            "reason": "truncated_by_length",
            "duplicate_of": None,
            "score": None,
            "detail": "generation",
        }
    ]
    assert summary["generation"]["read"] == 1
