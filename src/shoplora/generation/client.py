"""Async client for OpenAI-compatible /v1/chat/completions with limits, retries and a resumable cache.

Answers are streamed (server-sent events) where the provider's `stream` is on, so the read
timeout measures silence between tokens, not the length of an answer; a stream that ends
before its finish reason is a failure (`stream_cut`), retried and never cached. Every try of a
request carries the same `Idempotency-Key` (its id), so a server that knows the header (the
local one) lets a retry join the generation still running instead of starting it again.

Every request ends as one outcome record appended (and flushed) to a JSON Lines cache the
moment its response arrives: a rerun skips every id with a success record and retries only
the rest. SIGTERM (Slurm preemption) and Ctrl-C cancel what is in flight and keep every
finished response.
"""

import asyncio
import contextlib
import email.utils
import fcntl
import json
import random
import signal
import sys
import time
from pathlib import Path

import httpx

from shoplora.generation.limits import bucket, estimate_tokens, request_bucket
from shoplora.generation.outcome import RequestOutcome
from shoplora.generation.progress import Progress

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
UNKNOWN_MAX_TOKENS = 1024
# The most of one response that is read: far above any answer a token budget allows, far
# below what a broken or hostile provider could make a job hold in memory.
MAX_RESPONSE_BYTES = 16 * 2**20


class FatalProviderError(RuntimeError):
    """A response that retrying cannot fix (400/401/403/404)."""


class ResponseFormatRejected(FatalProviderError):
    """A 400 whose message names `response_format`: the provider does not take this output mode."""


def names_response_format(text):
    """True when an error response is about `response_format` (or its json_schema/json_object)."""
    return any(word in text.lower() for word in ("response_format", "json_schema", "json_object"))


class StreamCut(ValueError):
    """A streamed answer that ended before the server said it was complete."""


class BadResponse(ValueError):
    """A 200 that is not a chat completion (wrong shape, or over MAX_RESPONSE_BYTES)."""


# A "key" shorter than this is a placeholder (`EMPTY`, `none`, a local server's dummy): not a
# secret, and replacing it would corrupt answers that happen to contain the word.
MIN_SECRET_CHARS = 8


def redact(text, secrets):
    """`text` with every secret replaced: a provider may echo the request, key included."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, "[redacted]")
    return text


async def read_capped(response):
    """The body, read up to MAX_RESPONSE_BYTES; BadResponse beyond it."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise BadResponse(f"response over {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def checked_completion(data):
    """`data` when it has a chat completion's shape (choices[0].message, usage an object);
    BadResponse otherwise, so an odd answer is a failure record, never a crash."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        raise BadResponse("no choices")
    choice = data["choices"][0]
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        raise BadResponse("a choice without a message")
    usage = data.get("usage")
    if usage is not None and not (
        isinstance(usage, dict) and all(isinstance(v, (int, float)) for k, v in usage.items() if k.endswith("_tokens"))
    ):
        raise BadResponse("usage is not token counts")
    return data


class TooManyFailures(RuntimeError):
    """Fewer requests than the provider's min_success_fraction have an answer."""


def check_success(records, requests, minimum):
    """Raise TooManyFailures when too few requests have a success record; None otherwise.

    records: the final record per request (final_records); the message names the counts and
    the first distinct errors, so a provider that cannot be reached never passes silently.
    """
    succeeded = sum(r.get("status") == "success" for r in records)
    if not requests or succeeded / len(requests) >= minimum:
        return
    errors = []
    for record in records:
        error = record.get("error")
        if record.get("status") != "success" and error and error not in errors:
            errors.append(error)
    missing = len(requests) - len(records)
    raise TooManyFailures(
        f"only {succeeded} of {len(requests)} requests succeeded (min_success_fraction {minimum}); "
        f"first errors: {', '.join(errors[:3]) or 'none recorded'}"
        + (f"; {missing} never finished" if missing else "")
        + "; run again to retry the failed ones"
    )


class Interrupted(RuntimeError):
    """SIGTERM or SIGINT arrived; finished responses are in the cache."""


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
    return rng.uniform(0, min(cap, base * 2**attempt))


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


def _end_torn_line(path):
    """A killed writer may leave half a line; end it so the next record starts on its own line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab+") as fh:
        if fh.tell() > 0:
            fh.seek(-1, 2)
            if fh.read(1) != b"\n":
                fh.write(b"\n")


def succeeded_ids(records):
    return {r["id"] for r in records if r.get("status") == "success"}


def final_records(records, requests):
    """One record per request, in request order: its success if any, else its latest failure."""
    wanted = {r["id"] for r in requests}
    latest = {}
    for record in records:
        rid = record.get("id")
        if rid in wanted and (latest.get(rid, {}).get("status") != "success"):
            latest[rid] = record
    return [latest[r["id"]] for r in requests if r["id"] in latest]


def fatal_message(status, provider):
    if status == 401:
        return (
            f"provider '{provider['name']}' answered 401 Unauthorized: check the variable "
            f"{provider['api_key_env'] or '(api_key_env not set)'}"
        )
    message = f"provider '{provider['name']}' answered {status}; not retrying"
    if status == 400 and provider["stream"]:
        # The one request parameter only a streaming client sends.
        message += f" (if the endpoint cannot stream, set generation.providers.{provider['name']}.stream: false)"
    return message


class _Session:
    """One provider's run: client, limits, cache file, counters and progress display."""

    def __init__(self, provider, out_fh, stats, progress, secrets=()):
        self.provider, self.out_fh, self.stats, self.progress = provider, out_fh, stats, progress
        self.secrets = tuple(s for s in secrets if s)
        self.requests_bucket = request_bucket(provider["requests_per_minute"])
        self.tokens_bucket = bucket(provider["tokens_per_minute"])
        # A request without max_tokens may use up to the server's own cap; budget for a large one.
        self.max_tokens = int(provider["sampling"].get("max_tokens") or UNKNOWN_MAX_TOKENS)
        self.total_timeout = provider["timeouts"]["total"]

    def _write(self, record):
        # No await between a response arriving and this flush, so cancellation cannot lose it.
        self.out_fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out_fh.flush()
        stats = self.stats
        stats[record["status"]] += 1
        if record["status"] == "failure":
            reasons = stats["failures_by_reason"]
            reasons[record["error"]] = reasons.get(record["error"], 0) + 1
        for key in ("prompt_tokens", "completion_tokens"):
            stats[key] += int(record.get("usage", {}).get(key) or 0)
        self.progress.update(stats)

    def _part_received(self):
        # A long answer shows progress while it streams, not only when it ends.
        self.stats["streamed_parts"] += 1
        self.progress.update(self.stats)

    async def _attempt(self, client, body, request):
        """One try; `body` is the encoded JSON (encoded once for all retries).
        Returns (response, completion or None, error body text)."""
        estimate = estimate_tokens(
            request["messages"], request.get("own_sampling", {}).get("max_tokens", self.max_tokens)
        )
        await self.requests_bucket.acquire(1)
        await self.tokens_bucket.acquire(estimate)
        used = estimate
        headers = {"Idempotency-Key": request["id"]}
        try:
            async with asyncio.timeout(self.total_timeout):  # no extra task, unlike wait_for; None: no limit
                async with client.stream("POST", "/chat/completions", content=body, headers=headers) as response:
                    data, text = None, ""
                    if response.status_code != 200:
                        text = (await read_capped(response)).decode("utf-8", "replace")
                    elif self.provider["stream"]:
                        data = await read_stream(response, self._part_received)
                    else:
                        data = json.loads(await read_capped(response))
            if data is not None:
                usage = checked_completion(data).get("usage") or {}
                used = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0) or estimate
                return response, data, text
            used = 0 if response.status_code in (429, 401, 403) else estimate // 4
            return response, None, text
        finally:
            self.tokens_bucket.settle(estimate, used)

    async def run_one(self, client, request):
        provider = self.provider
        sampling = provider["sampling"]
        # A request may carry its own sampling keys (a verifier's per-type answer length).
        sampling = {**sampling, **request.get("own_sampling", {})}
        payload = {"model": provider["model"], "messages": request["messages"], **sampling}
        if provider["stream"]:
            payload.update(stream=True, stream_options={"include_usage": True})
        if request.get("response_format"):
            payload["response_format"] = request["response_format"]
        body = json.dumps(payload).encode()
        attempts, started = 0, time.monotonic()
        max_retries = provider["max_retries"]
        while True:
            attempts += 1
            wait = None
            try:
                response, data, text = await self._attempt(client, body, request)
                if data is not None:
                    choice = data["choices"][0]
                    content = choice["message"].get("content")
                    if isinstance(content, str):
                        choice = {**choice, "message": {**choice["message"], "content": redact(content, self.secrets)}}
                    outcome = RequestOutcome.success(
                        request, attempts, time.monotonic() - started, choice, data.get("usage"),
                        sampling.get("max_tokens"),
                    )  # fmt: skip
                    break
                if response.status_code == 400 and request.get("response_format") and names_response_format(text):
                    raise ResponseFormatRejected(
                        f"provider '{provider['name']}' rejected response_format "
                        f"{request['response_format']['type']}: {redact(text, self.secrets)[:300]}"
                    )
                if response.status_code not in RETRY_STATUS:
                    raise FatalProviderError(fatal_message(response.status_code, provider))
                error = f"http_{response.status_code}"
                wait = retry_after_seconds(response.headers.get("retry-after"))
                if wait is not None:  # a server may ask for years; the cap bounds every wait
                    wait = min(wait, provider["backoff_cap_s"])
            except (TimeoutError, httpx.TimeoutException):
                error = "timeout"
            except StreamCut as err:
                error = f"stream_cut:{err}"
            except httpx.TransportError as err:
                error = f"connection:{type(err).__name__}"
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                error = "bad_response"
            self.stats["errors"][error] = self.stats["errors"].get(error, 0) + 1
            if attempts > max_retries:
                outcome = RequestOutcome.failure(request, attempts, time.monotonic() - started, error)
                break
            self.stats["retries"] += 1
            self.progress.update(self.stats)
            await asyncio.sleep(
                wait
                if wait is not None
                else backoff_seconds(attempts - 1, provider["backoff_base_s"], provider["backoff_cap_s"])
            )
        self._write(outcome.to_record())


async def _capped_lines(response):
    """The body's lines; BadResponse once it passes MAX_RESPONSE_BYTES characters, even
    without a line break (httpx's aiter_lines would hold a whole endless line)."""
    size, pending = 0, ""
    async for text in response.aiter_text():
        size += len(text)
        if size > MAX_RESPONSE_BYTES:
            raise BadResponse(f"stream over {MAX_RESPONSE_BYTES} characters")
        pending += text
        if "\n" in text:
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line.rstrip("\r")
    if pending:
        yield pending.rstrip("\r")


async def read_stream(response, on_part=None):
    """The chat completion that a 200 stream of server-sent events assembles to, in the shape
    of a non-streamed answer. Raises StreamCut when the stream ends (or the connection breaks)
    before a finish reason: a half answer is never taken for a whole one. on_part() is called
    for each part of the answer's text as it arrives."""
    parts, finish_reason, usage, error = [], None, {}, None
    try:
        async for line in _capped_lines(response):
            if not line.startswith("data:"):
                continue  # comments (keep-alives), event names, blank separators
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if chunk.get("error"):
                error = "error_event"
                break
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    parts.append(content)
                    if on_part is not None:
                        on_part()
                finish_reason = choice.get("finish_reason") or finish_reason
    except httpx.TimeoutException:
        raise  # silence longer than the read timeout: a timeout, not a cut
    except httpx.TransportError as err:
        raise StreamCut(type(err).__name__) from err
    if error or finish_reason is None:
        raise StreamCut(error or "no_finish_reason")
    return {
        "choices": [{"message": {"role": "assistant", "content": "".join(parts)}, "finish_reason": finish_reason}],
        "usage": usage,
    }


def make_clients(provider, timeout, headers, count):
    """`count` httpx clients on httpx's own transport, one keep-alive connection each (one per
    worker), through `proxy` when the provider names one, else as the environment says
    (HTTPS_PROXY, ALL_PROXY, NO_PROXY; SSL_CERT_FILE for a site's own CA).

    One client per worker rather than one client of `count` connections: httpcore's pool
    matches every waiting request against every connection on each change, which at 64
    connections took most of a 2-core CPU (bench_generation.py: 0.15 of the ideal rate).
    """
    # The local provider's server is on this machine: a site proxy must not see it.
    trust_env = provider["kind"] != "local"
    tls = httpx.create_ssl_context(trust_env=trust_env)  # certificates loaded once, shared
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    base_url = provider["base_url"].rstrip("/")
    return [
        httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers=headers,
            limits=one,
            proxy=provider["proxy"],
            trust_env=trust_env,
            verify=tls,
        )
        for _ in range(count)
    ]


async def _run(provider, requests, out_path, api_key, stats, progress):
    timeouts = provider["timeouts"]
    limit = provider["max_concurrency"]
    # Waiting for a pooled connection is silence too: httpcore 1.0.9 can keep a failed proxy
    # tunnel in the pool (encode/httpcore#1023), and with no `total` nothing else would end it.
    read = timeouts["read"]
    timeout = httpx.Timeout(connect=timeouts["connect"], read=read, write=read, pool=read)
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    received = []

    def stop(signum):
        received.append(signal.Signals(signum).name)
        main.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    try:
        # The key goes into the client's default headers, never into a record or a message.
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        clients = make_clients(provider, timeout, headers, min(limit, len(requests)))
        try:
            with open(out_path, "a", encoding="utf-8") as out_fh:
                session = _Session(provider, out_fh, stats, progress, secrets=[api_key])
                queue = iter(requests)

                async def worker(client):
                    for request in queue:  # workers share one iterator: each request once
                        await session.run_one(client, request)

                workers = [asyncio.create_task(worker(client)) for client in clients]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for w in workers:
                        w.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))
    except asyncio.CancelledError:
        if received:
            raise Interrupted(
                f"stopped by {received[0]}; every finished response is kept in {out_path}, run again to resume"
            ) from None
        raise
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _run_loop(coroutine):
    # uvloop's event loop costs a fraction of asyncio's per socket event; asyncio if absent.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


@contextlib.contextmanager
def cache_lock(out_path, log=None):
    """Hold an exclusive lock on the response cache while a job appends to it.

    Snakemake's `--unlock`, or a second run on another target, can start a second generate
    job on the same cache; without this both would buy the same answers. The second job
    waits, then reads the cache again and buys only what is still missing.
    """
    lock_path = Path(f"{out_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"generate: another job is using {out_path}; waiting for it to finish",
                file=log or sys.stderr,
                flush=True,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_requests(provider, requests, out_path, api_key=None, progress_stream=None):
    """Send every request without a success record in `out_path`; append one outcome each.

    Returns the summary counters (also on Interrupted/FatalProviderError via `exc.stats`).
    """
    with cache_lock(out_path, progress_stream):
        return _run_requests(provider, requests, out_path, api_key, progress_stream)


def _run_requests(provider, requests, out_path, api_key, progress_stream):
    done = succeeded_ids(read_cache(out_path))
    todo = [r for r in requests if r["id"] not in done]
    stats = {
        "requests": len(requests),
        "todo": len(todo),
        "skipped_cached": len(requests) - len(todo),
        "success": 0,
        "failure": 0,
        "failures_by_reason": {},
        "retries": 0,
        "streamed_parts": 0,
        "errors": {},
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }
    progress = Progress(
        provider["name"],
        len(todo),
        provider["price_per_million"],
        **({"stream": progress_stream} if progress_stream else {}),
    )
    started = time.monotonic()
    _end_torn_line(out_path)
    try:
        if todo:
            _run_loop(_run(provider, todo, out_path, api_key, stats, progress))
    except (Interrupted, FatalProviderError) as err:
        err.stats = _finish(stats, started, progress)
        raise
    return _finish(stats, started, progress)


def _finish(stats, started, progress):
    stats["wall_s"] = round(time.monotonic() - started, 2)
    stats["cost"] = round(progress.cost(stats), 6)
    if stats["todo"]:
        progress.close(stats)
    return stats
