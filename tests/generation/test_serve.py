"""The local provider's server on the real embedded model: schema-valid JSON for every task type,
streamed answers, one generation per request however often a client retries, cancelled work
when a client goes, and no timeout on a busy machine."""

import json
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from shoplora.config.schema import section_defaults
from shoplora.generation.client import final_records, read_cache, run_requests
from shoplora.generation.local_server import local_model_server
from shoplora.generation.parse import parse_responses
from shoplora.generation.parts import response_schema
from shoplora.generation.prompts import build_requests
from shoplora.tasks.records import load_tasks
from shoplora.tasks.types import task_types

from conftest import REPO

SEEDS = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
TEMPLATES = {p.stem: p.read_text() for p in (REPO / "resources/prompts").glob("*.txt")}
DEFAULT_LOCAL = yaml.safe_load((REPO / "config/config.yaml").read_text())["generation"]["providers"]["local"]
# The default's provider at a smaller size: two tasks a request, and a budget no two tasks of
# any type can exceed at their length bounds (so every answer ends by its grammar).
SMALLER = {"tasks_per_request": 2, "sampling": {**DEFAULT_LOCAL["sampling"], "max_tokens": 700}}


def default_provider(url, **overrides):
    settings = {**DEFAULT_LOCAL, **SMALLER, **overrides}
    return section_defaults("generation", "providers", "*", name="local", base_url=url, **settings)


def server_stats(endpoint):
    return httpx.get(endpoint.url.removesuffix("/v1") + "/shoplora/stats", headers=endpoint.headers, timeout=10).json()


def post(endpoint, body, **kw):
    return httpx.post(f"{endpoint.url}/chat/completions", json=body, headers=endpoint.headers, **kw)


def generate(endpoint, cache, answerer, **overrides):
    provider = default_provider(endpoint.url, **overrides)
    requests = build_requests(provider, SEEDS, TEMPLATES, seed_rng=0, answerer=answerer)
    stats = run_requests(provider, requests, cache, api_key=endpoint.token)
    records = final_records(read_cache(cache), requests)
    tasks, failures, summary = parse_responses(records, "local")
    return stats, records, tasks, summary


@pytest.fixture(scope="module")
def local_server(tiny_model_dir, tmp_path_factory):
    extra = {"max_batch": DEFAULT_LOCAL["max_concurrency"]}
    with local_model_server(tiny_model_dir, "smollm2", tmp_path_factory.mktemp("server"), extra=extra) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def idle_run(local_server, tmp_path_factory):
    """The default's generate at the smaller size on an idle machine."""
    return generate(local_server, tmp_path_factory.mktemp("idle") / "cache.jsonl", "idle")


def test_the_real_model_under_a_schema_writes_valid_json_for_every_task_type(idle_run, local_server):
    stats, records, tasks, summary = idle_run
    assert stats["success"] == 6 and stats["retries"] == 0
    assert sorted(r["task_type"] for r in records) == sorted(task_types())
    for record in records:
        assert record["finish_reason"] == "stop", record
        Draft202012Validator(response_schema(record["task_type"], 2)).validate(json.loads(record["text"]))
    assert {t["task_type"] for t in tasks} <= set(task_types()) and len(tasks) >= 6
    assert all(summary[t]["read"] == 2 for t in task_types())
    # Streamed answers carried the server's usage, and the server generated each request once.
    assert all(r["usage"]["completion_tokens"] > 0 for r in records)
    assert server_stats(local_server)["sequences_finished"] >= 6

    # What the server refuses it says, naming response_format, so hosted-style fallback works.
    bad = post(
        local_server, {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}}, timeout=30
    )
    assert bad.status_code == 400 and "response_format" in bad.text
    # Malformed messages or sampling values are a 400 naming what is wrong, not a 500.
    for body, named in [
        ({"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "not a number"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000}, "context"),
    ]:
        answer = post(local_server, body, timeout=30)
        assert answer.status_code == 400 and named in answer.text, answer.text


def test_a_streamed_answer_equals_the_whole_one(local_server):
    """The same request, seeded, answered whole and as server-sent events: the same text, and
    the stream ends with its finish reason, usage and [DONE]."""
    body = {
        "messages": [{"role": "user", "content": "A JSON object about a mug."}],
        "response_format": {"type": "json_object"},
        "temperature": 0.7,
        "seed": 3,
        "max_tokens": 60,
    }
    whole = post(local_server, body, timeout=120).json()
    stream = {**body, "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream(
        "POST", f"{local_server.url}/chat/completions", json=stream, headers=local_server.headers, timeout=120
    ) as response:
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert text == whole["choices"][0]["message"]["content"]
    assert finish == [whole["choices"][0]["finish_reason"]]
    assert chunks[-1]["usage"] == whole["usage"]


def test_a_client_that_times_out_and_retries_gets_one_generation(tiny_model_dir, tmp_path):
    """Small steps make the first token take seconds and no keep-alive comes, so a 1 s read
    timeout fires: the client retries with the same Idempotency-Key, the retry joins the
    paused generation, and the server generates the sequence once."""
    extra = {"max_batch": 2, "token_budget": 16, "keepalive_s": 600}
    with local_model_server(tiny_model_dir, "smollm2", tmp_path / "server", extra=extra) as endpoint:
        stats, records, tasks, _ = generate(
            endpoint,
            tmp_path / "cache.jsonl",
            "retry",
            num_requests=1,
            task_mix={"ranking": 1},
            max_retries=30,
            backoff_base_s=0.05,
            backoff_cap_s=0.1,
            timeouts={"connect": 10, "read": 1},
        )
        served = server_stats(endpoint)
    assert stats["success"] == 1 and stats["errors"].get("timeout", 0) >= 1, stats
    assert served["sequences_started"] == 1 and served["sequences_finished"] == 1, served
    assert served["joined"] == stats["retries"] and served["requests"] == 1 + stats["retries"]
    assert served["generated_tokens"] == records[0]["usage"]["completion_tokens"]


def _count_cancelled(endpoint, before, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = server_stats(endpoint)
        if stats.get("sequences_cancelled", 0) > before.get("sequences_cancelled", 0):
            return stats
        time.sleep(0.1)
    pytest.fail(f"the server never cancelled the request: {stats}")


def test_a_disconnected_clients_generation_stops_within_a_few_tokens(local_server):
    url = local_server
    body = {"messages": [{"role": "user", "content": "Write a long story about shoes."}], "max_tokens": 400}
    # Streamed: the client reads five parts, then closes the connection.
    before = server_stats(url)
    with httpx.stream(
        "POST", f"{url.url}/chat/completions", json={**body, "stream": True}, headers=url.headers, timeout=60
    ) as response:
        parts = 0
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                parts += 1
                if parts == 6:  # the role and five tokens
                    break
    after = _count_cancelled(url, before)
    time.sleep(1.0)
    settled = server_stats(url)
    assert settled["generated_tokens"] == after["generated_tokens"], "generation went on after the cancel"
    # Five tokens read, and the few generated while the close reached the server.
    assert after["generated_tokens"] - before["generated_tokens"] <= 5 + 4
    assert settled["running"] == 0 and settled["waiting"] == 0

    # Whole: a client that gives up waiting (read timeout) is noticed within half a second.
    before = settled
    with pytest.raises(httpx.ReadTimeout):
        post(url, body, timeout=httpx.Timeout(10, read=1))
    after = _count_cancelled(url, before)
    time.sleep(1.0)
    settled = server_stats(url)
    assert settled["generated_tokens"] == after["generated_tokens"]
    assert settled["generated_tokens"] - before["generated_tokens"] < 400


def test_generate_on_a_busy_machine_answers_every_request_without_a_timeout(idle_run, tiny_model_dir, tmp_path):
    """Two CPU-bound processes beside the server on a 2-core machine, read timeout 20 s and no
    retries allowed: every request is answered (the read timeout measures silence between
    tokens, not the answer), and parsing yields as many valid tasks as on an idle machine."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        extra = {"max_batch": DEFAULT_LOCAL["max_concurrency"]}
        with local_model_server(tiny_model_dir, "smollm2", tmp_path / "server", extra=extra) as endpoint:
            stats, records, tasks, _ = generate(
                endpoint,
                tmp_path / "cache.jsonl",
                "busy",
                max_retries=0,
                timeouts={**DEFAULT_LOCAL["timeouts"], "read": 20},
            )
            served = server_stats(endpoint)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert stats["success"] == 6 and stats["errors"] == {} and stats["retries"] == 0, stats
    assert served["sequences_started"] == 6
    idle_stats, idle_records, idle_tasks, _ = idle_run
    assert len(tasks) == len(idle_tasks)


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"temperature": -1}, 400, "temperature must be at least 0"),
        ({"top_p": 5}, 400, "top_p must be above 0.0 and at most 1.0"),
        ({"repetition_penalty": float("nan")}, 400, "repetition_penalty must be a finite number"),
        ({"max_tokens": -5}, 400, "max_tokens must be an integer of at least 1"),
        ({"response_format": "json"}, 400, "response_format must be an object"),
        ({"messages": [{"role": "user", "content": "x" * 5_000_000}]}, 413, "characters"),
    ],
)
def test_a_bad_or_oversized_request_is_refused_at_once_with_the_reason(local_server, change, status, words):
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, **change}
    started = time.monotonic()
    # json.dumps writes NaN as the bare token NaN, which Python's JSON reader (the server's) accepts.
    response = httpx.post(
        f"{local_server.url}/chat/completions", content=json.dumps(body), headers=local_server.headers, timeout=60
    )
    assert response.status_code == status and words in response.json()["error"]["message"]
    assert time.monotonic() - started < 5  # refused before tokenising a 5 MB prompt


@pytest.mark.parametrize("body", [b"[1, 2]", b'"hello"', b"not json"])
def test_a_body_that_is_not_a_request_object_is_a_400(local_server, body):
    url = f"{local_server.url}/chat/completions"
    response = httpx.post(url, content=body, headers=local_server.headers, timeout=60)
    assert response.status_code == 400


def test_the_server_answers_only_the_job_that_started_it(local_server):
    """Any local user could use the server's prompts and compute on a shared login node."""
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    url = f"{local_server.url}/chat/completions"
    for headers in ({}, {"Authorization": "Bearer guessed"}, {"Authorization": local_server.token}):
        refused = httpx.post(url, json=body, headers=headers, timeout=60)
        assert refused.status_code == 401 and "bearer token" in refused.text
        assert httpx.get(f"{local_server.url}/models", headers=headers, timeout=60).status_code == 401
    assert post(local_server, body, timeout=60).status_code == 200
