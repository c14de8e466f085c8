"""The local provider's server on the real embedded model: schema-valid JSON for every task type."""

import json

import httpx
from jsonschema import Draft202012Validator

from shoplora.config.schema import section_defaults
from shoplora.generation.client import read_cache, run_requests
from shoplora.generation.local_server import local_model_server
from shoplora.generation.parse import parse_responses
from shoplora.generation.parts import response_schema
from shoplora.generation.prompts import build_requests
from shoplora.tasks.records import load_tasks
from shoplora.tasks.types import TASK_TYPES

from conftest import REPO

SEEDS = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
TEMPLATES = {p.stem: p.read_text() for p in (REPO / "resources/prompts").glob("*.txt")}


def test_the_real_model_under_a_schema_writes_valid_json_for_every_task_type(tiny_model_dir, tmp_path):
    with local_model_server(tiny_model_dir, "smollm2", tmp_path / "server", extra={"max_batch": 6}) as url:
        provider = section_defaults(
            "generation",
            "providers",
            "*",
            name="local",
            kind="local",
            model="shoplora-base",
            base_url=url,
            num_requests=6,
            tasks_per_request=2,
            max_concurrency=6,
            # greedy, and a budget no two tasks of any type can exceed at their length bounds
            sampling={"temperature": 0, "max_tokens": 700},
        )
        requests = build_requests(provider, SEEDS, TEMPLATES, answerer="test")
        stats = run_requests(provider, requests, tmp_path / "cache.jsonl")
        assert stats["success"] == 6

        # What the server refuses it says, naming response_format, so hosted-style fallback works.
        bad = httpx.post(
            f"{url}/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "xml"}},
            timeout=30,
        )
        assert bad.status_code == 400 and "response_format" in bad.text
        # Malformed messages or sampling values are a 400 naming what is wrong, not a 500.
        for body, named in [
            ({"messages": [{"role": "user", "content": [{"type": "image"}]}]}, "messages"),
            ({"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}, "not a number"),
        ]:
            answer = httpx.post(f"{url}/chat/completions", json=body, timeout=30)
            assert answer.status_code == 400 and named in answer.text, answer.text
        plain = httpx.post(
            f"{url}/chat/completions",
            json={
                "messages": [{"role": "user", "content": "A JSON object about a mug."}],
                "response_format": {"type": "json_object"},
                "temperature": 0,
                "max_tokens": 200,
            },
            timeout=120,
        ).json()
        if plain["choices"][0]["finish_reason"] == "stop":
            assert isinstance(json.loads(plain["choices"][0]["message"]["content"]), dict)

    records = read_cache(tmp_path / "cache.jsonl")
    assert sorted(r["task_type"] for r in records) == sorted(TASK_TYPES)
    for record in records:
        assert record["finish_reason"] == "stop", record
        Draft202012Validator(response_schema(record["task_type"], 2)).validate(json.loads(record["text"]))
    tasks, failures, summary = parse_responses(records, "local")
    assert {t["task_type"] for t in tasks} <= set(TASK_TYPES) and len(tasks) >= 6
    assert all(summary[t]["read"] == 2 for t in TASK_TYPES)
