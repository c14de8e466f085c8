"""The `local` provider's server: OpenAI-compatible chat completions, streamed or whole, that
honour `response_format`.

`llamafactory-cli api` ignores `response_format`, and a 135M model asked for JSON in words
rarely writes it. Here a JSON schema (or plain JSON mode) becomes a grammar (xgrammar) that
masks every token that would break it, so each response parses. Prompts are encoded with
LLaMA-Factory's own template, as in training and inference.

Requests are decoded by the runtime's continuous-batching engine: a request joins the running
ones at the next step instead of waiting for a whole batch, and streams its tokens as they come
(`stream: true`, server-sent events), so a client's read timeout measures silence, not the
length of an answer. While a streamed request waits for a slot or reads its prompt, a
keep-alive comment goes out every `keepalive_s` as long as the engine is making steps; a stuck
engine sends nothing. Nothing is generated twice or for nobody:

- a client that disconnects (or cancels) stops its sequence at the next step;
- a request with an `Idempotency-Key` header that is identical to one in flight or finished
  within `finished_kept_s` joins it (a client's retry after a timeout), and a keyed request
  whose client has gone is paused, not dropped, for `rejoin_grace_s`, waiting for the retry.

`GET /shoplora/stats` counts requests, joins and the sequences the engine generated.

Run as `python -m shoplora.generation.serve CONFIG.yaml` with API_HOST/API_PORT set (see
local_server.py, which starts and stops it).
"""

import asyncio
import hashlib
import hmac
import json
import math
import os
import queue
import sys
import threading
import time
import uuid
from collections import Counter

import yaml

from shoplora.generation.local_server import IDENTITY_HEADER, TOKEN_ENV, server_identity
from shoplora.runtime.continuous import ContinuousEngine, Sequence, packed_attention
from shoplora.runtime.model import BadMessages, ModelRuntime
from shoplora.runtime.sampling import Sampler, SamplingParams
from shoplora.runtime.threads import ThreadTuner

# Server settings that the generate job may override in the server's YAML (local_server.py).
SERVER_DEFAULTS = {
    "max_batch": 8,  # sequences decoded at once
    "token_budget": 256,  # tokens per forward pass (prompt chunks and one token per sequence)
    "keepalive_s": 5.0,
    "rejoin_grace_s": 120.0,
    "finished_kept_s": 900.0,
}


class BadRequest(ValueError):
    """A request this server cannot honour; answered with 400 and the reason."""

    status = 400


class TooLarge(BadRequest):
    """A request whose prompt cannot fit the model: answered 413 before any tokenising."""

    status = 413


# No tokenizer makes fewer tokens than one per this many characters of real text, so a prompt
# longer than context x this cannot fit, and is refused before tokenising blocks the server.
MAX_CHARS_PER_TOKEN = 32
# The largest request body read at all.
MAX_BODY_BYTES = 32 * 2**20


def response_format_grammar(compiler, response_format):
    """A compiled grammar for the request's `response_format`, or None for free text."""
    if not response_format:
        return None
    if not isinstance(response_format, dict):
        raise BadRequest('response_format must be an object such as {"type": "json_object"}')
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return compiler.compile_builtin_json_grammar()
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise BadRequest("response_format.json_schema.schema must be a JSON object")
        try:
            # No free whitespace: a small model otherwise spends its budget on indentation.
            return compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        except (RuntimeError, ValueError) as err:
            raise BadRequest(f"response_format.json_schema.schema cannot be compiled: {err}") from err
    raise BadRequest(f"response_format type {kind!r} is not supported (json_schema, json_object, text)")


def _number(body, name, default, low, high, low_open=False):
    """body[name] as a finite float within [low, high] (or (low, high]); BadRequest otherwise."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} is not a number: {value!r}")
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, not {value}")
    if value < low or (low_open and value == low) or value > high:
        raise BadRequest(f"{name} must be {'above' if low_open else 'at least'} {low} and at most {high}, not {value}")
    return float(value)


def sampling_params(body):
    # The ranges OpenAI's API accepts: a negative temperature is an error there, not greedy.
    temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(body, "top_p", 1.0, 0.0, 1.0, low_open=True)
    # vLLM's and transformers' name; a small model repeats its options without it
    repetition_penalty = _number(body, "repetition_penalty", 1.0, 0.0, 10.0, low_open=True)
    seed, max_tokens = body.get("seed"), body.get("max_tokens")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest(f"seed must be an integer, not {seed!r}")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest(f"max_tokens must be an integer of at least 1, not {max_tokens!r}")
    params = SamplingParams(
        temperature=temperature, top_p=top_p if temperature > 0 else 1.0, repetition_penalty=repetition_penalty,
        seed=seed,
    )  # fmt: skip
    max_tokens = max_tokens or 512
    if body.get("n", 1) != 1:
        raise BadRequest("n must be 1")
    return params, max_tokens


class Job:
    """One generation and the clients following it. Changed only on the event loop."""

    def __init__(self, key, prompt_ids, max_tokens, sampler, model_name):
        self.key, self.sampler, self.model_name = key, sampler, model_name
        self.sequence = Sequence(prompt_ids, max_tokens, owner=self)
        self.id, self.created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        self.tokens, self.finish_reason, self.error = [], None, None
        self.followers, self.finished_at = 0, None
        self.changed = asyncio.Condition()

    def usage(self):
        prompt = len(self.sequence.prompt)
        new = len(self.tokens)
        return {"prompt_tokens": prompt, "completion_tokens": new, "total_tokens": prompt + new}


class LocalServer:
    """The engine on its own thread, and the jobs the HTTP handlers follow on the event loop."""

    def __init__(self, runtime, model_name, settings):
        import xgrammar

        self.runtime, self.model_name = runtime, model_name
        self.settings = {**SERVER_DEFAULTS, **settings}
        model = runtime.model
        self.vocab_size = model.config.vocab_size
        self.context = getattr(model.config, "max_position_embeddings", None)
        info = xgrammar.TokenizerInfo.from_huggingface(
            runtime.tokenizer, vocab_size=self.vocab_size, stop_token_ids=runtime.stop_ids
        )
        self.compiler = xgrammar.GrammarCompiler(info)
        # A busy machine (a login node, a CI runner, a laptop doing other work) decodes faster
        # on fewer threads: the tuner measures which count is faster, as the load changes.
        self.tuner = ThreadTuner()
        self.engine = ContinuousEngine(
            model,
            runtime.stop_ids,
            slots=self.settings["max_batch"],
            token_budget=self.settings["token_budget"],
            tuner=self.tuner,
        )
        self.commands = queue.Queue()
        self.keyed = {}  # (Idempotency-Key, body hash) -> Job, in flight or finished lately
        self.stats = Counter()
        self.loop = None
        threading.Thread(target=self._run_engine, daemon=True, name="engine").start()

    # --- the engine thread ---

    def _run_engine(self):
        import torch

        with torch.inference_mode(), packed_attention(self.engine.model):
            while True:
                self._apply_commands(block=not self.engine.has_work)
                if not self.engine.has_work:
                    continue
                try:
                    events = self.engine.step(self._choose)
                except Exception as err:  # one failed step must not stop the server
                    self._fail_all(err)
                    continue
                self.stats["steps"] += 1
                if events:
                    self.loop.call_soon_threadsafe(self._advance, events)

    def _apply_commands(self, block):
        try:
            command = self.commands.get(block=block)
            while True:
                command()
                command = self.commands.get_nowait()
        except queue.Empty:
            pass

    def _choose(self, sequences, logits):
        tokens = []
        for sequence, row in zip(sequences, logits):
            try:
                tokens.append(sequence.owner.sampler.choose(row))
            except Exception as err:  # this sequence ends with the error; the others go on
                sequence.owner.error = f"sampling failed: {err}"
                tokens.append(self.runtime.stop_ids[0])
        return tokens

    def _fail_all(self, err):
        failed = [*self.engine.active, *self.engine.waiting]
        for sequence in failed:
            self.engine.cancel(sequence)
        message = f"generation failed: {type(err).__name__}: {err}"
        print(f"serve: {message}", file=sys.stderr, flush=True)
        self.loop.call_soon_threadsafe(self._fail, [s.owner for s in failed], message)

    # --- the event loop ---

    def _advance(self, events):
        for sequence, token in events:
            job = sequence.owner
            if job.finish_reason is not None:
                continue  # cancelled while this step ran
            if token is not None:
                job.tokens.append(token)
                self.stats["generated_tokens"] += 1
            if sequence.finished:
                self._finish(job, "error" if job.error else ("length" if token is not None else "stop"))
            else:
                self._notify(job)

    def _fail(self, jobs, message):
        for job in jobs:
            if job.finish_reason is None:
                job.error = message
                self._finish(job, "error")

    def _finish(self, job, reason):
        job.finish_reason, job.finished_at = reason, time.monotonic()
        self.stats["sequences_finished" if reason in ("stop", "length") else f"sequences_{reason}"] += 1
        if job.key is not None and reason not in ("stop", "length"):
            self.keyed.pop(job.key, None)
        self._notify(job)

    def _notify(self, job):
        async def wake():
            async with job.changed:
                job.changed.notify_all()

        asyncio.ensure_future(wake())

    def open(self, body, idempotency_key=None):
        """The job that answers `body`: a keyed one already running or finished, else a new
        one queued on the engine. Returns (job, joined)."""
        self.loop = self.loop or asyncio.get_running_loop()
        self.stats["requests"] += 1
        self._forget_old()
        key = None
        if idempotency_key:
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            key = (idempotency_key, digest)
            job = self.keyed.get(key)
            if job is not None:
                self.stats["joined"] += 1
                return job, True
        params, max_tokens = sampling_params(body)
        messages = body.get("messages") or []
        chars = sum(len(m["content"]) for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str))
        if self.context and chars > self.context * MAX_CHARS_PER_TOKEN:
            raise TooLarge(
                f"the messages hold {chars} characters; the model's context of {self.context} tokens holds "
                f"at most about {self.context * MAX_CHARS_PER_TOKEN}"
            )
        try:
            prompt_ids = self.runtime.encode_chat(messages)
        except BadMessages as err:
            raise BadRequest(str(err)) from err
        if self.context and len(prompt_ids) + max_tokens > self.context:
            raise BadRequest(
                f"the prompt ({len(prompt_ids)} tokens) and max_tokens ({max_tokens}) exceed the model's "
                f"context of {self.context} tokens"
            )
        grammar = response_format_grammar(self.compiler, body.get("response_format"))
        sampler = Sampler(params, prompt_ids, grammar, self.vocab_size)
        job = Job(key, prompt_ids, max_tokens, sampler, body.get("model") or self.model_name)
        if key is not None:
            self.keyed[key] = job
        self.stats["sequences_started"] += 1
        self.commands.put(lambda: self.engine.add(job.sequence))
        return job, False

    def _forget_old(self):
        now, kept = time.monotonic(), self.settings["finished_kept_s"]
        for key, job in list(self.keyed.items()):
            if job.finished_at is not None and now - job.finished_at > kept:
                del self.keyed[key]

    async def follow(self, job):
        """Yield "tokens" when the job has new tokens or has finished (then stop), and
        "keepalive" when nothing came for keepalive_s while the engine made steps."""
        job.followers += 1
        if job.sequence.paused:
            self.commands.put(lambda: self.engine.resume(job.sequence))
        seen = -1
        try:
            while True:
                if len(job.tokens) != seen or job.finish_reason is not None:
                    seen = len(job.tokens)
                    yield "tokens"
                    if job.finish_reason is not None:
                        return
                    continue
                steps = self.stats["steps"]
                try:
                    async with asyncio.timeout(self.settings["keepalive_s"]):
                        await self._changed(job, seen)
                except TimeoutError:
                    if self.stats["steps"] != steps:
                        yield "keepalive"
        finally:
            job.followers -= 1
            if job.followers == 0 and job.finish_reason is None:
                self._left(job)

    @staticmethod
    async def _changed(job, seen):
        """Wait until the job has other than `seen` tokens, or has finished."""
        async with job.changed:
            await job.changed.wait_for(lambda: len(job.tokens) != seen or job.finish_reason is not None)

    def _left(self, job):
        """The last client of an unfinished job has gone: cancel it, or for a keyed job
        pause it until its retry joins or the grace period ends."""
        if job.key is None:
            self._cancel(job)
            return
        self.commands.put(lambda: self.engine.pause(job.sequence))
        self.loop.call_later(self.settings["rejoin_grace_s"], self._cancel_if_left, job)

    def _cancel_if_left(self, job):
        if job.followers == 0 and job.finish_reason is None:
            self._cancel(job)

    def _cancel(self, job):
        self.commands.put(lambda: self.engine.cancel(job.sequence))
        self._finish(job, "cancelled")

    def text(self, job):
        return self.runtime.tokenizer.decode(job.tokens, skip_special_tokens=True)

    def completion(self, job):
        return {
            "id": job.id,
            "object": "chat.completion",
            "created": job.created,
            "model": job.model_name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text(job)},
                    "finish_reason": job.finish_reason,
                }
            ],
            "usage": job.usage(),
        }

    def chunk(self, job, delta, finish_reason=None):
        return {
            "id": job.id,
            "object": "chat.completion.chunk",
            "created": job.created,
            "model": job.model_name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    async def events(self, job, include_usage):
        """The server-sent events of a streamed answer, from its first token (a joined
        retry gets the whole answer)."""

        def event(payload):
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield event(self.chunk(job, {"role": "assistant", "content": ""}))
        sent = ""
        async for what in self.follow(job):
            if what == "keepalive":
                yield ": keep-alive\n\n"
                continue
            text = self.text(job)
            done = job.finish_reason is not None
            # A token may end inside a multi-byte character: wait for the rest of it.
            if text.startswith(sent) and len(text) > len(sent) and (done or not text.endswith("\ufffd")):
                yield event(self.chunk(job, {"content": text[len(sent) :]}))
                sent = text
            if done:
                if job.finish_reason in ("error", "cancelled"):
                    yield event({"error": {"message": job.error or job.finish_reason, "type": "server_error"}})
                    return
                yield event(self.chunk(job, {}, job.finish_reason))
                if include_usage:
                    yield event({**self.chunk(job, {}), "choices": [], "usage": job.usage()})
                yield "data: [DONE]\n\n"


def require_token(app, token):
    """The ASGI app, answering 401 to any request without `Authorization: Bearer <token>` and
    marking every answer with the server's identity. Plain ASGI rather than an HTTP middleware,
    which would hide a client's disconnect from the handlers that cancel its generation."""
    expected = f"Bearer {token}".encode()
    identity = (IDENTITY_HEADER.encode(), server_identity(token).encode())
    refusal = json.dumps(
        {"error": {"message": "missing or wrong bearer token: this server answers only the job that started it",
                   "type": "unauthorized"}}
    ).encode()  # fmt: skip

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, expected):
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(refusal)).encode())]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": refusal})
            return None

        async def send_marked(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), identity]}
            await send(message)

        return await app(scope, receive, send_marked)

    return guarded


def build_app(server):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, StreamingResponse

    app = FastAPI()

    def error(status, message):
        return JSONResponse(status_code=status, content={"error": {"message": message, "type": "invalid_request"}})

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": server.model_name, "object": "model", "owned_by": "shoplora"}]}

    @app.get("/shoplora/stats")
    async def stats():
        return {
            **server.stats,
            "running": len(server.engine.active),
            "waiting": len(server.engine.waiting),
            "threads": server.tuner.current,
            "thread_switches": server.tuner.switches,
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error(413, f"request body of {length} bytes; the limit is {MAX_BODY_BYTES}")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return error(400, "request body is not a JSON object")
        try:
            job, _ = server.open(body, request.headers.get("idempotency-key"))
        except BadRequest as err:
            return error(err.status, str(err))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                server.events(job, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        return await _whole(server, job, request, error)

    return app


async def _whole(server, job, request, error):
    """A non-streamed answer, given up (and so cancelled or paused) when the client goes."""

    async def follow():
        async for _ in server.follow(job):
            pass

    following = asyncio.ensure_future(follow())
    while not following.done():
        await asyncio.wait([following], timeout=0.5)
        if not following.done() and await request.is_disconnected():
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
            return error(499, "client closed the request")
    if job.finish_reason in ("error", "cancelled"):
        return error(500, job.error or job.finish_reason)
    return server.completion(job)


def main(argv=None):
    import uvicorn

    (config_path,) = argv if argv is not None else sys.argv[1:]
    with open(config_path) as fh:
        config = yaml.safe_load(fh)
    # The folder holds the weights in the dtype prepare_base_model wrote (base_model.dtype).
    runtime = ModelRuntime(config["model_name_or_path"], config["template"], dtype="folder")
    settings = {key: config[key] for key in SERVER_DEFAULTS if config.get(key) is not None}
    server = LocalServer(runtime, config.get("model_name", "shoplora-base"), settings)
    app = build_app(server)
    token = os.environ.get(TOKEN_ENV)
    if token:
        app = require_token(app, token)
    # On SIGTERM (the job ends or dies) do not wait for a generation in flight.
    uvicorn.run(
        app,
        host=os.environ["API_HOST"],
        port=int(os.environ["API_PORT"]),
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
