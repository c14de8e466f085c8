"""Generation against a real HTTP server on 127.0.0.1 that can inject faults."""

import pytest

from shoplora.config.schema import section_defaults
from shoplora.generation.client import FatalProviderError, read_cache, retry_after_seconds, run_requests
from shoplora.generation.parse import parse_responses
from shoplora.generation.prompts import build_requests, render_prompt, sample_combinations
from shoplora.io.model_meta import model_identity

from helpers.fake_openai import COMPLETION

GOOD_TEXT = COMPLETION.format(tag="t")


@pytest.fixture
def server_factory(fake_openai):
    def start(script=()):
        srv = fake_openai(script)
        return srv, srv.base_url

    return start


def provider(base_url, **kw):
    return section_defaults(
        "generation",
        "providers",
        "*",
        **{
            "name": "test",
            "kind": "openai",
            "model": "m",
            "base_url": base_url,
            "num_requests": 3,
            "seed_examples_per_prompt": 2,
            "tasks_per_request": 3,
            "max_concurrency": 2,
            "max_retries": 3,
            "backoff_base_s": 0.01,
            "backoff_cap_s": 0.05,
            "task_mix": {"generation": 1},  # the seeds here are generation tasks
            "api_key_env": "SHOPLORA_TEST_KEY",
            **kw,
        },
    )


SEEDS = [
    {"id": f"s{i}", "task_type": "generation", "input_field": f"Describe product {i}.", "output_field": f"Product {i}."}
    for i in range(5)
]


def test_combinations_are_distinct_and_seeded():
    a = sample_combinations(10, 3, 50, seed=1)
    assert len(set(a)) == 50 and a == sample_combinations(10, 3, 50, seed=1)
    assert a != sample_combinations(10, 3, 50, seed=2)
    assert len(set(sample_combinations(5, 2, 10, seed=0))) == 10
    with pytest.raises(ValueError, match="only 10 distinct combinations"):
        sample_combinations(5, 2, 11, seed=0)


def test_prompt_shows_examples_in_the_study_format_or_as_parts():
    text = render_prompt("{k} examples:\n{examples}\nWrite {n}. {format}", SEEDS[:2], 4, "Use ###.")
    assert text.startswith("2 examples:\ntask_type: generation\ninput_field: Describe product 0.")
    assert "\n###\n" in text and text.endswith("Write 4. Use ###.")
    text = render_prompt("{examples}", SEEDS[:2], 4, "", mode="json_schema")
    assert text.splitlines()[0] == '{"instruction": "Describe product 0.", "answer": "Product 0."}'


def test_requests_are_sent_resumed_and_never_bought_twice(tmp_path, server_factory, monkeypatch):
    srv, url = server_factory([(429, {"Retry-After": "0"}), (503, {}), "ok"])
    prov = provider(url)
    requests = build_requests(prov, SEEDS, {"generation": "{examples} {k} {n}"})
    cache = tmp_path / "cache.jsonl"
    stats = run_requests(prov, requests, cache, api_key="sk-test-123")
    assert stats["success"] == 3 and stats["retries"] == 2
    assert stats["errors"] == {"http_429": 1, "http_503": 1}
    assert all(auth == "Bearer sk-test-123" for _, auth in srv.received)
    served = len(srv.received)
    # A torn last line (killed writer) is ignored; a rerun sends nothing already successful.
    with open(cache, "a") as fh:
        fh.write('{"id": "torn", "stat')
    stats = run_requests(prov, requests, cache, api_key="sk-test-123")
    assert stats["todo"] == 0 and len(srv.received) == served
    records = read_cache(cache)
    assert sorted(r["id"] for r in records if r["status"] == "success") == sorted(r["id"] for r in requests)


def test_a_changed_endpoint_or_base_model_reuses_no_cached_answer(tmp_path, server_factory):
    """Request ids name who answers: the endpoint (hosted) or the base model (local)."""
    cache = tmp_path / "cache.jsonl"
    first, first_url = server_factory()
    second, second_url = server_factory()
    old, new = provider(first_url), provider(second_url)
    run_requests(old, build_requests(old, SEEDS, {"generation": "{examples} {k} {n}"}), cache)
    stats = run_requests(new, build_requests(new, SEEDS, {"generation": "{examples} {k} {n}"}), cache)
    assert stats["skipped_cached"] == 0 and len(second.received) == 3
    assert (
        run_requests(old, build_requests(old, SEEDS, {"generation": "{examples} {k} {n}"}), cache)["skipped_cached"]
        == 3
    )

    model = tmp_path / "model"
    model.mkdir()
    (model / "shoplora_model.json").write_text('{"kind": "path", "path": "/models/a", "template": "smollm2"}')
    (model / "config.json").write_text('{"hidden_size": 576}')
    (model / "model.safetensors").write_bytes(b"0" * 10)
    before = model_identity(model)
    ids = [r["id"] for r in build_requests(old, SEEDS, {"generation": "{examples} {k} {n}"}, answerer=before)]
    assert ids != [r["id"] for r in build_requests(old, SEEDS, {"generation": "{examples} {k} {n}"})]
    (model / "model.safetensors").write_bytes(b"0" * 11)  # other weights, same name
    changed = model_identity(model)
    assert changed != before
    assert ids != [r["id"] for r in build_requests(old, SEEDS, {"generation": "{examples} {k} {n}"}, answerer=changed)]
    (model / "model.safetensors").write_bytes(b"0" * 10)
    assert model_identity(model) == before  # the same model folder is the same answerer


def test_401_fails_fast_naming_the_variable(tmp_path, server_factory):
    srv, url = server_factory([(401, {})] * 10)
    prov = provider(url, num_requests=1)
    with pytest.raises(FatalProviderError, match="check the variable SHOPLORA_TEST_KEY"):
        run_requests(
            prov, build_requests(prov, SEEDS, {"generation": "{examples} {k} {n}"}), tmp_path / "c.jsonl", api_key="x"
        )
    assert len(srv.received) == 1


def test_retry_after_parsing():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_parse_responses_study_format_and_truncation():
    raws = [
        {"id": "r1", "status": "success", "finish_reason": "stop", "text": GOOD_TEXT},
        {"id": "r2", "status": "success", "finish_reason": "length", "text": GOOD_TEXT},
        {
            "id": "r3",
            "status": "success",
            "finish_reason": "stop",
            "text": "task_type: poem\ninput_field: x\noutput_field: 1\n###\ntask_type: ranking\n"
            "input_field: Rank\\n1. a\\n2. b\noutput_field: [1, 1]\n###\njust words",
        },
        {"id": "r4", "status": "failure", "error": "timeout"},
    ]
    tasks, failures, summary = parse_responses(raws, "p")
    assert summary["unknown"]["valid"] == len(tasks) and summary["unknown"]["read"] == len(tasks) + 3
    assert [t["task_type"] for t in tasks] == ["multiple-choice", "ranking", "generation", "multiple-choice", "ranking"]
    assert tasks[0]["input_field"] == "Which is a fruit?\n0. apple\n1. chair"
    assert tasks[0]["output_field"] == 0 and tasks[0]["source"] == "generated:p"
    reasons = sorted(f["reason"] for f in failures)
    assert reasons == [
        "invalid:ranking_not_a_permutation",
        "missing_field:task_type",
        "request_failed",
        "truncated_by_length",
        "unknown_task_type",
    ]


def test_length_finish_with_unused_budget_is_not_truncation():
    raw = {
        "id": "r",
        "status": "success",
        "finish_reason": "length",
        "text": GOOD_TEXT,
        "usage": {"completion_tokens": 40},
        "max_tokens": 320,
    }
    tasks, failures, _ = parse_responses([raw], "p")
    assert len(tasks) == 3 and failures == []
    tasks, failures, _ = parse_responses([dict(raw, usage={"completion_tokens": 320})], "p")
    assert len(tasks) == 2 and failures[0]["reason"] == "truncated_by_length"


def test_an_outcome_record_holds_the_fields_of_its_status_and_the_request_facts():
    from shoplora.generation.outcome import RequestOutcome

    request = {"id": "r", "seed_ids": ["s1"], "task_type": "ranking", "output": "json_schema", "tasks_asked": 5}
    choice = {"message": {"content": "[]"}, "finish_reason": "stop"}
    ok = RequestOutcome.success(request, 2, 1.23456, choice, None, 320).to_record()
    assert ok == {
        "id": "r", "status": "success", "attempts": 2, "latency_s": 1.235, "usage": {}, "finish_reason": "stop",
        "text": "[]", "seed_ids": ["s1"], "max_tokens": 320, "task_type": "ranking", "output": "json_schema",
        "tasks_asked": 5,
    }  # fmt: skip
    failed = RequestOutcome.failure({"id": "q", "seed_ids": []}, 3, 9.0, "timeout").to_record()
    assert failed == {
        "id": "q",
        "status": "failure",
        "attempts": 3,
        "latency_s": 9.0,
        "error": "timeout",
        "seed_ids": [],
    }
    with pytest.raises(TypeError):  # the client retries it as a bad response
        RequestOutcome.success(request, 1, 0.1, {"message": {"content": None}}, None, 320)


@pytest.mark.parametrize(
    "template, problem",
    [
        ("Examples:\n{exmaples}\nWrite {n}.", "unknown placeholder {exmaples}"),
        ("Examples:\n{examples}\nAnswer as {json}.", "unknown placeholder {json}"),
        ("Examples:\n{examples}\nA stray { brace", "(write a literal brace as {{ or }})"),
        ("Write {n} tasks.", "no {examples} placeholder"),
        ("{k} examples:\n{examples}\nWrite {n}.\n{format}", None),
        ("Write {{JSON}} like:\n{examples}", None),
    ],
)
def test_a_template_is_checked_before_any_job(template, problem):
    """A misspelled placeholder was a raw KeyError in generate, after the server had started."""
    from shoplora.generation.prompts import template_problem

    found = template_problem(template)
    assert (found is None) if problem is None else (problem in found)


def test_too_few_seeds_for_the_requests_is_found_at_validation(tmp_path):
    import copy

    import yaml

    from shoplora.config.check import check_config
    from shoplora.generation.prompts import plan_problems
    from shoplora.tasks.records import load_tasks

    from conftest import REPO

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    check_config(config, base_dir=REPO)
    config["generation"]["prompt_templates"] = str(REPO / "resources/prompts")
    seeds = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
    assert plan_problems(config, seeds) == []
    many = copy.deepcopy(config)
    many["generation"]["providers"]["local"].update(num_requests=60, seed_examples_per_prompt=16)
    problems = plan_problems(many, seeds)
    assert len(problems) == 6 and "10 ranking requests need 10 distinct sets of 16 seed examples" in problems[1]
    assert plan_problems(config, [s for s in seeds if s["task_type"] != "ranking"]) == [
        "config key generation.providers.local.task_mix.ranking: the seed tasks have no ranking task to show"
    ]
