"""The `local` provider's server: OpenAI-compatible chat completions that honour `response_format`.

`llamafactory-cli api` ignores `response_format`, and a 135M model asked for JSON in words
rarely writes it. Here a JSON schema (or plain JSON mode) becomes a grammar (xgrammar) that
masks every token that would break it, so each response parses. Prompts are encoded with
LLaMA-Factory's own template, as in training and inference.

Run as `python -m shoplora.generation.serve CONFIG.yaml` with API_HOST/API_PORT set (see
local_server.py, which starts and stops it).
"""

import asyncio
import concurrent.futures
import json
import os
import queue
import sys
import threading
import time
import uuid

import yaml

COLLECT_S = 0.25


class BadRequest(ValueError):
    """A request this server cannot honour; answered with 400 and the reason."""


def response_format_grammar(compiler, response_format):
    """A compiled grammar for the request's `response_format`, or None for free text."""
    if not response_format:
        return None
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


class Engine:
    """The model, its template and a grammar compiler. Requests that arrive together are
    generated as one batch (left-padded, one grammar per row): on a CPU one sequence leaves
    most of each step's time to Python and grammar masks, so two or four share it cheaply."""

    def __init__(self, model_dir, template_name, max_batch):
        import torch
        import xgrammar
        from llamafactory.data import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch, self.xgrammar = torch, xgrammar
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.template = get_template_and_fix_tokenizer(self.tokenizer, DataArguments(template=template_name))
        # The folder holds the weights in the dtype prepare_base_model wrote (base_model.dtype).
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto")
        self.model.eval()
        self.stop_ids = self.template.get_stop_token_ids(self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.stop_ids[0]
        info = xgrammar.TokenizerInfo.from_huggingface(
            self.tokenizer, vocab_size=self.model.config.vocab_size, stop_token_ids=self.stop_ids
        )
        self.compiler = xgrammar.GrammarCompiler(info)
        self.max_batch = max_batch
        self.queue = queue.Queue()
        threading.Thread(target=self._serve_queue, daemon=True).start()

    def encode(self, messages):
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise BadRequest("messages must be a list of {role, content} objects with text content")
        system = None
        if messages and messages[0]["role"] == "system":
            system, messages = messages[0]["content"], messages[1:]
        if not messages or messages[-1]["role"] != "user":
            raise BadRequest("messages must end with a user message")
        turns = [{"role": m["role"], "content": m["content"]} for m in messages]
        prompt_ids, _ = self.template.encode_oneturn(
            self.tokenizer, [*turns, {"role": "assistant", "content": ""}], system=system
        )
        return prompt_ids

    def prepare(self, body):
        """A queued job for one request; raises BadRequest before anything is queued."""
        try:
            temperature = float(body.get("temperature", 1.0) or 0.0)
            sampling = {
                "max_tokens": int(body.get("max_tokens") or 512),
                "temperature": temperature,
                "top_p": float(body.get("top_p", 1.0)) if temperature > 0 else 1.0,
                # vLLM's and transformers' name; a small model repeats its options without it
                "repetition_penalty": float(body.get("repetition_penalty") or 1.0),
                "seed": None if body.get("seed") is None else int(body["seed"]),
            }
        except (TypeError, ValueError) as err:
            raise BadRequest(f"a sampling parameter is not a number: {err}") from err
        return {
            "body": body,
            "prompt_ids": self.encode(body.get("messages") or []),
            "grammar": response_format_grammar(self.compiler, body.get("response_format")),
            **sampling,
            "future": concurrent.futures.Future(),
        }

    def submit(self, body):
        job = self.prepare(body)
        self.queue.put(job)
        return job["future"]

    @staticmethod
    def batch_key(job):
        keys = ("temperature", "top_p", "repetition_penalty", "seed", "max_tokens")
        return (job["grammar"] is None, *(job[k] for k in keys))

    def _serve_queue(self):
        waiting = []
        while True:
            if not waiting:
                waiting.append(self.queue.get())
            # Let requests sent together arrive together: a batch that starts with one of them
            # runs alone for its whole length (tens of seconds on a CPU) while the rest wait.
            time.sleep(COLLECT_S)
            while True:
                try:
                    waiting.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            key = self.batch_key(waiting[0])
            batch = [job for job in waiting if self.batch_key(job) == key][: self.max_batch]
            taken = {id(job) for job in batch}
            waiting = [job for job in waiting if id(job) not in taken]
            try:
                for job, result in zip(batch, self.generate(batch)):
                    job["future"].set_result(result)
            except Exception as err:  # one bad batch must not stop the server
                for job in batch:
                    job["future"].set_exception(err)

    def generate(self, batch):
        torch = self.torch
        width = max(len(job["prompt_ids"]) for job in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, job in enumerate(batch):
            n = len(job["prompt_ids"])
            ids[row, width - n :] = torch.tensor(job["prompt_ids"])
            mask[row, width - n :] = 1
        first = batch[0]
        kwargs = {"do_sample": first["temperature"] > 0, "repetition_penalty": first["repetition_penalty"]}
        if first["temperature"] > 0:
            kwargs.update(temperature=first["temperature"], top_p=first["top_p"])
        if first["grammar"] is not None:
            kwargs["logits_processor"] = [self.xgrammar.contrib.hf.LogitsProcessor([j["grammar"] for j in batch])]
        if first["seed"] is not None:
            # A batch shares one seed: the same requests batched the same way sample the same.
            torch.manual_seed(first["seed"])
        with torch.inference_mode():
            output = self.model.generate(
                ids,
                attention_mask=mask,
                max_new_tokens=first["max_tokens"],
                eos_token_id=self.stop_ids,
                pad_token_id=self.pad_id,
                **kwargs,
            )
        return [self.response(job, output[row, width:].tolist()) for row, job in enumerate(batch)]

    def response(self, job, new):
        stop_at = next((i for i, token in enumerate(new) if token in self.stop_ids), None)
        if stop_at is not None:
            new = new[: stop_at + 1]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        prompt_tokens = len(job["prompt_ids"])
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": job["body"].get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop" if stop_at is not None else "length",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(new),
                "total_tokens": prompt_tokens + len(new),
            },
        }


def build_app(engine, model_name):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()

    def error(status, message):
        return JSONResponse(status_code=status, content={"error": {"message": message, "type": "invalid_request"}})

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "shoplora"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        try:
            body = await request.json()
        except ValueError:
            return error(400, "request body is not JSON")
        if body.get("stream"):
            return error(400, "stream is not supported")
        try:
            future = engine.submit(body)
        except BadRequest as err:
            return error(400, str(err))
        # Generation runs on the engine's thread, so /models stays live meanwhile.
        return await asyncio.wrap_future(future)

    return app


def main(argv=None):
    import uvicorn

    (config_path,) = argv if argv is not None else sys.argv[1:]
    with open(config_path) as fh:
        config = yaml.safe_load(fh)
    engine = Engine(config["model_name_or_path"], config["template"], config["max_batch"])
    app = build_app(engine, config.get("model_name", "shoplora-base"))
    # On SIGTERM (the job ends or dies) do not wait for a generation in flight: it may run for minutes.
    uvicorn.run(
        app,
        host=os.environ["API_HOST"],
        port=int(os.environ["API_PORT"]),
        log_level="warning",
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
