"""Async client for OpenAI-compatible /v1/chat/completions with retries and a resumable cache."""

import asyncio
import email.utils
import json
import random
import sys
import time
from pathlib import Path

import httpx

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class FatalProviderError(RuntimeError):
    """A response that retrying cannot fix (400/401/403/404)."""


def retry_after_seconds(value):
    """Parse a Retry-After header: seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_seconds(attempt, base, cap, rng=random):
    """Exponential backoff with full jitter."""
    return rng.uniform(0, min(cap, base * 2 ** attempt))


def read_cache(path):
    """Outcome records already on disk; a torn last line (killed writer) is ignored."""
    records = []
    path = Path(path)
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def succeeded_ids(records):
    return {r["id"] for r in records if r.get("status") == "success"}


def fatal_message(status, provider):
    if status == 401:
        return (f"provider '{provider['name']}' answered 401 Unauthorized: check the variable "
                f"{provider.get('api_key_env') or '(api_key_env not set)'}")
    return f"provider '{provider['name']}' answered {status}; not retrying"


async def _one_request(client, provider, request, api_key, out_fh, stats):
    timeouts = provider.get("timeouts", {})
    body = {"model": provider["model"], "messages": request["messages"], **provider.get("sampling", {})}
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    attempts, started, error = 0, time.monotonic(), None
    max_retries = provider.get("max_retries", 5)
    while True:
        attempts += 1
        wait = None
        try:
            response = await asyncio.wait_for(
                client.post("/chat/completions", json=body, headers=headers),
                timeout=timeouts.get("total", 600))
            if response.status_code == 200:
                data = response.json()
                choice = data["choices"][0]
                record = {"id": request["id"], "status": "success", "attempts": attempts,
                          "latency_s": round(time.monotonic() - started, 3),
                          "usage": data.get("usage") or {},
                          "finish_reason": choice.get("finish_reason"),
                          "text": choice["message"]["content"], "seed_ids": request["seed_ids"],
                          "max_tokens": body.get("max_tokens")}
                break
            if response.status_code not in RETRY_STATUS:
                raise FatalProviderError(fatal_message(response.status_code, provider))
            error = f"http_{response.status_code}"
            wait = retry_after_seconds(response.headers.get("retry-after"))
        except FatalProviderError:
            raise
        except (httpx.TimeoutException, asyncio.TimeoutError):
            error = "timeout"
        except httpx.TransportError as err:
            error = f"connection:{type(err).__name__}"
        except (ValueError, KeyError, IndexError, TypeError):
            error = "bad_response"
        stats["errors"][error] = stats["errors"].get(error, 0) + 1
        if attempts > max_retries:
            record = {"id": request["id"], "status": "failure", "attempts": attempts,
                      "latency_s": round(time.monotonic() - started, 3), "error": error,
                      "seed_ids": request["seed_ids"]}
            break
        stats["retries"] += 1
        await asyncio.sleep(wait if wait is not None else
                            backoff_seconds(attempts - 1, provider.get("backoff_base_s", 1.0),
                                            provider.get("backoff_cap_s", 60.0)))
    out_fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    out_fh.flush()
    stats[record["status"]] += 1
    for key in ("prompt_tokens", "completion_tokens"):
        stats[key] += int(record.get("usage", {}).get(key) or 0)
    done = stats["success"] + stats["failure"]
    print(f"[{provider['name']}] {done}/{stats['todo']} done, {stats['failure']} failed, "
          f"errors {stats['errors']}", file=sys.stderr, flush=True)


async def _run(provider, requests, out_path, api_key, stats):
    timeouts = provider.get("timeouts", {})
    limit = provider.get("max_concurrency", 4)
    timeout = httpx.Timeout(connect=timeouts.get("connect", 10), read=timeouts.get("read", 300),
                            write=timeouts.get("read", 300), pool=None)
    gate = asyncio.Semaphore(limit)
    async with httpx.AsyncClient(base_url=provider["base_url"].rstrip("/"), timeout=timeout,
                                 limits=httpx.Limits(max_connections=limit)) as client:
        with open(out_path, "a", encoding="utf-8") as out_fh:
            async def guarded(req):
                async with gate:
                    await _one_request(client, provider, req, api_key, out_fh, stats)
            tasks = [asyncio.create_task(guarded(r)) for r in requests]
            try:
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()


def run_requests(provider, requests, out_path, api_key=None):
    """Send every request without a success record in `out_path`; append one outcome each."""
    done = succeeded_ids(read_cache(out_path))
    todo = [r for r in requests if r["id"] not in done]
    stats = {"todo": len(todo), "skipped_cached": len(requests) - len(todo), "success": 0,
             "failure": 0, "retries": 0, "errors": {}, "prompt_tokens": 0, "completion_tokens": 0}
    started = time.monotonic()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).touch()
    if todo:
        asyncio.run(_run(provider, todo, out_path, api_key, stats))
    stats["wall_s"] = round(time.monotonic() - started, 2)
    prices = provider.get("price_per_million", {})
    stats["cost"] = round(stats["prompt_tokens"] / 1e6 * prices.get("input", 0)
                          + stats["completion_tokens"] / 1e6 * prices.get("output", 0), 6)
    return stats
