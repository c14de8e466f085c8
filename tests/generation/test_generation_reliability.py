"""Retries, waits, limits, kills and resumes against the fault-injecting server (real HTTP)."""

import asyncio
import io
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from shoplora.config.schema import section_defaults
from shoplora.generation.client import FatalProviderError, final_records, read_cache, run_requests
from shoplora.generation.limits import TokenBucket
from shoplora.generation.parse import parse_responses
from shoplora.generation.prompts import build_requests

from conftest import REPO

SEEDS = [
    {"id": f"s{i}", "task_type": "generation", "input_field": f"Describe product {i}.", "output_field": f"Product {i}."}
    for i in range(12)
]


def provider(base_url, **kw):
    return section_defaults(
        "generation",
        "providers",
        "*",
        **{
            "name": "test",
            "kind": "openai",
            "output": "text",  # the fake server answers in the study's format
            "model": "m",
            "base_url": base_url,
            "num_requests": 4,
            "seed_examples_per_prompt": 2,
            "tasks_per_request": 3,
            "max_concurrency": 1,
            "max_retries": 3,
            "backoff_base_s": 0.2,
            "backoff_cap_s": 0.2,
            "task_mix": {"generation": 1},  # the seeds here are generation tasks
            "api_key_env": "SHOPLORA_TEST_KEY",
            "timeouts": {"connect": 2, "read": 0.5, "total": 5},
            **kw,
        },
    )


@pytest.fixture
def server(fake_openai):
    return fake_openai


def run(srv, tmp_path, **kw):
    prov = provider(srv.base_url, **kw)
    requests = build_requests(prov, SEEDS, {"generation": "{examples} {k} {n}"})
    started = time.monotonic()
    stats = run_requests(prov, requests, tmp_path / "cache.jsonl", api_key="sk-test")
    return stats, time.monotonic() - started, requests


def test_retry_after_in_seconds_is_honoured(server, tmp_path):
    srv = server([(429, {"Retry-After": "1"})])
    stats, seconds, _ = run(srv, tmp_path, num_requests=1, backoff_cap_s=5)
    assert stats["success"] == 1 and stats["errors"] == {"http_429": 1}
    assert seconds >= 1.0  # waited as told (within the cap), not the 0.2 s backoff


def test_retry_after_as_http_date_is_honoured(server, tmp_path):
    from email.utils import formatdate

    srv = server([(503, {"Retry-After": formatdate(time.time() + 2, usegmt=True)})])
    stats, seconds, _ = run(srv, tmp_path, num_requests=1, backoff_cap_s=5)
    assert stats["success"] == 1 and seconds >= 1.0  # the date has whole-second resolution


def test_without_retry_after_backoff_is_bounded_by_the_cap(server, tmp_path):
    srv = server([(429, {}), (500, {}), (502, {})])
    stats, seconds, _ = run(srv, tmp_path, num_requests=1, backoff_base_s=0.05, backoff_cap_s=0.1)
    assert stats["success"] == 1 and stats["retries"] == 3
    assert stats["errors"] == {"http_429": 1, "http_500": 1, "http_502": 1}
    assert seconds < 2.0


def test_a_retry_after_of_years_waits_no_longer_than_the_cap(server, tmp_path):
    srv = server([(429, {"Retry-After": "99999999"})])
    stats, seconds, _ = run(srv, tmp_path, num_requests=1, backoff_cap_s=0.3)
    assert stats["success"] == 1 and stats["errors"] == {"http_429": 1}
    assert seconds < 5


ODD_ANSWERS = [
    ("body", b"[1, 2, 3]"),
    ("body", json.dumps({"choices": [{"message": {"content": "x"}}], "usage": "lots"}).encode()),
    ("body", json.dumps({"choices": ["hello"]}).encode()),
    ("body", json.dumps({"choices": [{"message": {"content": 7}}]}).encode()),
    ("huge", 20 * 2**20),
]


@pytest.mark.parametrize("stream", [False, True])
def test_an_odd_or_endless_200_is_a_bad_response_record_not_a_crash(server, tmp_path, stream):
    script = ODD_ANSWERS if not stream else [("huge", 20 * 2**20)]
    srv = server(script)
    stats, _, requests = run(srv, tmp_path, num_requests=len(script), max_retries=0, stream=stream)
    assert stats["failures_by_reason"] == {"bad_response": len(script)} and stats["success"] == 0
    records = final_records(read_cache(tmp_path / "cache.jsonl"), requests)
    assert [r["error"] for r in records] == ["bad_response"] * len(script)
    # The next run asks again, and takes the good answers.
    stats, _, _ = run(srv, tmp_path, num_requests=len(script), stream=stream)
    assert stats["success"] == len(script)


def test_a_provider_that_echoes_the_key_gets_it_neither_logged_nor_stored(server, tmp_path):
    from shoplora.generation.modes import run_with_fallback

    secret = "sk-ECHOED-9c1e5b7f3a"
    echoed = {"choices": [{"message": {"content": f"You sent Bearer {secret}"}, "finish_reason": "stop"}]}
    srv = server([("echo", 400), ("body", json.dumps(echoed).encode())])
    prov = provider(srv.base_url, num_requests=1, output="json_object", max_retries=0, stream=False)
    requests = build_requests(prov, SEEDS, {"generation": "{examples} {k} {n}"})
    log = io.StringIO()
    mode, _, stats = run_with_fallback(
        prov, lambda mode: [dict(r, response_format={"type": mode}) if mode != "text" else r for r in requests],
        tmp_path / "cache.jsonl", api_key=secret, log=log,
    )  # fmt: skip
    assert mode == "text" and stats["success"] == 1
    assert "rejected response_format" in log.getvalue() and "[redacted]" in log.getvalue()
    assert secret not in log.getvalue() and secret not in (tmp_path / "cache.jsonl").read_text()


# What a body cut off and an HTML page count as, answered whole and streamed.
BROKEN_BODY_ERRORS = {
    False: {"truncated": "connection:RemoteProtocolError", "not_json": "bad_response"},
    True: {"truncated": "stream_cut:RemoteProtocolError", "not_json": "stream_cut:no_finish_reason"},
}


@pytest.mark.parametrize("stream", [False, True])
def test_timeouts_broken_bodies_and_exhausted_retries(server, tmp_path, stream):
    srv = server(
        [
            ("sleep", 1.5),
            "truncated",
            "not_json",
            "ok",  # request 1 succeeds on attempt 4
            (503, {}),
            (503, {}),
            (503, {}),
            (503, {}),
        ]
    )  # request 2 gives up after 3 retries
    stats, _, requests = run(srv, tmp_path, num_requests=3, backoff_base_s=0.01, backoff_cap_s=0.01, stream=stream)
    broken = BROKEN_BODY_ERRORS[stream]
    assert stats["errors"] == {"timeout": 1, broken["truncated"]: 1, broken["not_json"]: 1, "http_503": 4}
    assert all(bool(body.get("stream")) is stream for body in srv.bodies)
    assert stats["success"] == 2 and stats["failure"] == 1
    assert stats["failures_by_reason"] == {"http_503": 1}
    records = final_records(read_cache(tmp_path / "cache.jsonl"), requests)
    assert [r["attempts"] for r in records] == [4, 4, 1]
    # The failed one is retried on the next run, the successes are not.
    before = len(srv.received)
    stats, _, _ = run(srv, tmp_path, num_requests=3, stream=stream)
    assert stats["todo"] == 1 and stats["success"] == 1 and len(srv.received) == before + 1


@pytest.mark.parametrize("cut", ["truncated", "cut_clean"])
def test_a_stream_cut_midway_is_retried_and_never_cached_as_complete(server, tmp_path, cut):
    """A connection broken mid-stream, or a stream that ends before its finish reason, is a
    failure with a reason: with no retry left nothing is cached as an answer, and the next
    run buys the whole answer."""
    from helpers.fake_openai import completion_for

    srv = server([cut])
    stats, _, requests = run(srv, tmp_path, num_requests=1, max_retries=0)
    assert stats["success"] == 0 and list(stats["failures_by_reason"]) == [
        f"stream_cut:{BROKEN_BODY_ERRORS[True]['truncated'].split(':')[1]}"
        if cut == "truncated"
        else "stream_cut:no_finish_reason"
    ]
    cached = read_cache(tmp_path / "cache.jsonl")
    assert [r["status"] for r in cached] == ["failure"] and "text" not in cached[0]

    srv.script = [cut]  # cut again on the first try, whole on the retry
    stats, _, _ = run(srv, tmp_path, num_requests=1, max_retries=1)
    (record,) = [r for r in read_cache(tmp_path / "cache.jsonl") if r["status"] == "success"]
    assert stats["retries"] == 1 and record["attempts"] == 2
    assert record["text"] == completion_for(srv.received[-1][0]) and record["finish_reason"] == "stop"
    assert record["usage"] == {"prompt_tokens": 10, "completion_tokens": 60}


def test_every_try_of_a_request_carries_its_id_as_idempotency_key(server, tmp_path):
    """A server that knows the key (the local one) lets a retry join the generation in flight."""
    srv = server([("sleep", 1.5), (503, {})])
    stats, _, requests = run(srv, tmp_path, num_requests=2, backoff_base_s=0.01, backoff_cap_s=0.01)
    assert stats["success"] == 2 and stats["retries"] == 2
    first = [key for key in srv.idempotency_keys if key == requests[0]["id"]]
    assert len(first) == 3 and set(srv.idempotency_keys) == {r["id"] for r in requests}


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(server, tmp_path, status):
    srv = server([(status, {})] * 5)
    with pytest.raises(
        FatalProviderError, match=f"answered {status}" if status != 401 else "check the variable SHOPLORA_TEST_KEY"
    ) as err:
        run(srv, tmp_path, num_requests=2)
    assert len(srv.received) == 1
    assert err.value.stats["success"] == 0
    # A 400 may be an endpoint that cannot stream: the message says which key turns it off.
    assert ("stream: false" in str(err.value)) is (status == 400)


def test_token_bucket_paces_and_settles():
    async def take(bucket, n, amount=1):
        started = time.monotonic()
        for _ in range(n):
            await bucket.acquire(amount)
        return time.monotonic() - started

    bucket = TokenBucket(per_minute=1200, capacity=1)  # 20 per second
    assert asyncio.run(take(bucket, 11)) >= 0.45
    tokens = TokenBucket(per_minute=60_000, capacity=1000)  # 1,000 per second
    asyncio.run(take(tokens, 1, 1000))
    tokens.settle(1000, 200)  # used less than estimated: 800 come back
    assert asyncio.run(take(tokens, 1, 800)) < 0.1
    tokens.settle(800, 1300)  # used more: a debt of 500 to wait out
    assert asyncio.run(take(tokens, 1, 500)) >= 0.9


def test_requests_per_minute_limit_provokes_no_429(server, tmp_path):
    srv = server(rpm=600)
    stats, seconds, _ = run(srv, tmp_path, num_requests=20, max_concurrency=8, requests_per_minute=600)
    assert stats["success"] == 20 and srv.limited == 0 and "http_429" not in stats["errors"]
    assert seconds >= 1.8  # 20 requests at 10 per second


def client(prov, cache, key="sk-test"):
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests/helpers/gen_client.py"), json.dumps(prov), str(cache), str(len(SEEDS)), key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_client(srv, tmp_path, **kw):
    """A client process for `srv` with key sk-first; its requests, prompt per id and cache."""
    prov = provider(srv.base_url, **kw)
    requests = build_requests(prov, SEEDS, {"generation": "{examples} {k} {n}"})
    prompt_of = {r["id"]: r["messages"][0]["content"] for r in requests}
    cache = tmp_path / "cache.jsonl"
    return prov, requests, prompt_of, cache, client(prov, cache, key="sk-first")


def test_sigkill_at_a_random_point_then_resume_buys_each_response_once(server, tmp_path):
    """Kill between responses (the server holds back other answers meanwhile), then resume."""
    # From the 5th request on: with 4 in flight, the 5th is only sent once an answer came back,
    # so the kill always finds at least one response to keep (the 3rd or 4th found none).
    kill_at = random.Random().randint(5, 25)
    srv = server(latency=0.02)
    prov, requests, prompt_of, cache, proc = start_client(srv, tmp_path, num_requests=30, max_concurrency=4)

    def kill_cleanly(count):
        if count != kill_at:
            return
        # Every response already written must be on disk before the kill: that is the promise.
        wait_until_recorded(srv, cache, prompt_of)
        os.kill(proc.pid, signal.SIGKILL)
        srv.refused_auth.add("Bearer sk-first")  # its open requests get no answer: it is dead

    srv.on_request = kill_cleanly
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    srv.on_request = None
    killed_with = len({r["id"] for r in read_cache(cache) if r["status"] == "success"})
    assert 0 < killed_with < 30
    with open(cache, "a") as fh:  # and a torn line, as a kill mid-write leaves
        fh.write('{"id": "x", "sta')
    proc = client(prov, cache, key="sk-second")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["skipped_cached"] == killed_with
    successes = [r["id"] for r in read_cache(cache) if r["status"] == "success"]
    assert sorted(successes) == sorted(prompt_of)  # exactly one success record per id
    assert all(srv.served_ok[p] == 1 for p in prompt_of.values())  # each answer bought once

    # The parsed tasks equal those of a run that was never interrupted (on a fresh server).
    clean_cache = tmp_path / "clean.jsonl"
    run_requests(dict(prov, base_url=server().base_url), requests, clean_cache, api_key="sk-test")
    resumed = parse_responses(final_records(read_cache(cache), requests), "test")[:2]
    clean = parse_responses(final_records(read_cache(clean_cache), requests), "test")[:2]
    assert resumed == clean and len(resumed[0]) == 90


def wait_until_recorded(srv, cache, prompt_of):
    """Every answer the server has sent is in the cache (the client's promise), or 10 s pass."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        recorded = {prompt_of[r["id"]] for r in read_cache(cache) if r.get("status") == "success"}
        if recorded >= set(srv.served_ok):
            return
        time.sleep(0.01)


def test_sigterm_stops_cleanly_and_keeps_finished_responses(server, tmp_path):
    srv = server(latency=0.05)
    _, _, prompt_of, cache, proc = start_client(srv, tmp_path, num_requests=40, max_concurrency=3)

    def terminate(count):
        if count == 8:
            wait_until_recorded(srv, cache, prompt_of)
            proc.send_signal(signal.SIGTERM)
            srv.refused_auth.add("Bearer sk-first")

    srv.on_request = terminate
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "stopped by SIGTERM" in err and "run again to resume" in err
    kept = [r for r in read_cache(cache) if r["status"] == "success"]
    assert 0 < len(kept) == sum(srv.served_ok.values()) < 40  # every delivered answer was kept


def test_progress_line_shows_counts_rates_errors_and_cost():
    import io

    from shoplora.generation.progress import Progress

    stream = io.StringIO()
    progress = Progress("hosted", 10, {"input": 1.0, "output": 2.0}, stream=stream, log_every_s=0)
    stats = {
        "success": 3,
        "failure": 1,
        "errors": {"http_429": 2, "timeout": 1},
        "prompt_tokens": 1_000_000,
        "completion_tokens": 500_000,
    }
    progress.update(stats)
    line = stream.getvalue()
    assert "[hosted]" in line and "4/10 requests" in line and "req/s" in line and "tok/s" in line
    assert "http_429=2, timeout=1" in line and "cost $2.0000" in line and line.endswith("\n")
    assert "streamed" not in line
    # While answers stream, the line counts their parts: a long answer shows progress.
    progress.update({**stats, "streamed_parts": 120})
    assert "streamed 120 parts" in stream.getvalue().splitlines()[-1]


def test_two_jobs_on_one_cache_never_buy_an_answer_twice(server, tmp_path):
    """`snakemake --unlock` or a run on a disjoint target can start a second generate job on a
    cache in use; the cache lock makes the second wait and buy only what is still missing."""
    srv = server(latency=0.05)
    prov, requests, prompt_of, cache, first = start_client(srv, tmp_path, num_requests=20, max_concurrency=2)
    deadline = time.monotonic() + 60
    while not srv.received and time.monotonic() < deadline:
        time.sleep(0.01)  # the first job holds the lock once it is buying
    # Its answers are held back until the second job says it waits, however busy the machine.
    with srv.send_lock:
        second = client(prov, cache, key="sk-second")
        waiting = [second.stderr.readline()]
        while "another job is using" not in waiting[-1] and waiting[-1]:
            waiting.append(second.stderr.readline())
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)
    err_second = "".join(waiting) + err_second
    assert first.returncode == 0 and second.returncode == 0, err_first + err_second
    assert "another job is using" in err_second
    assert sorted(srv.served_ok.values()) == [1] * 20  # every prompt answered exactly once
    assert json.loads(out_second)["todo"] == 0 and json.loads(out_first)["success"] == 20


def test_redaction_replaces_keys_but_not_placeholders():
    from shoplora.generation.client import redact

    text = "Bearer sk-live-0123456789 for an EMPTY mug"
    assert redact(text, ["sk-live-0123456789", "EMPTY", None]) == "Bearer [redacted] for an EMPTY mug"
