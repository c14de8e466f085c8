"""Generation client throughput and rate limiting against the local fake OpenAI server.

1. 2,000 requests, server latency 100 ms, concurrency 64: achieved requests/s over the ideal
   (concurrency / latency = 640/s), goal >= 0.8; client CPU time per request.
2. A 600 requests-per-minute limit (the server answers 429 above it): achieved rate within
   5% of the limit, no 429 provoked.

The server runs in its own process so that it does not share the client's interpreter.
Usage: bench/bench_generation.py [--requests 2000] [--concurrency 64] [--latency 0.1]
       [--rpm 600] [--rpm-requests 300]
"""

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from shoplora.config.schema import section_defaults  # noqa: E402
from shoplora.generation.client import run_requests  # noqa: E402
from shoplora.generation.prompts import build_requests  # noqa: E402

SEEDS = [
    {
        "id": f"s{i}",
        "task_type": "generation",
        "input_field": f"Describe product number {i} for a shopper.",
        "output_field": f"Product {i} is useful.",
    }
    for i in range(40)
]


def start_server(*args):
    server = ROOT / "tests" / "helpers" / "fake_openai.py"
    proc = subprocess.Popen([sys.executable, str(server), "--fast", *args], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def provider(base_url, n, concurrency, **kw):
    return section_defaults(
        "generation",
        "providers",
        "*",
        **{
            "name": "bench",
            "kind": "openai",
            "model": "m",
            "base_url": base_url,
            "num_requests": n,
            "seed_examples_per_prompt": 3,
            "tasks_per_request": 3,
            "max_concurrency": concurrency,
            "task_mix": {"generation": 1},  # the seeds here are generation tasks
            "max_retries": 5,
            "backoff_base_s": 0.5,
            "backoff_cap_s": 5,
            "sampling": {"max_tokens": 256},
            "timeouts": {"connect": 10, "read": 30, "total": 60},
            **kw,
        },
    )


def run(prov):
    requests = build_requests(prov, SEEDS, {"generation": "{examples}\nWrite {n} new tasks like these {k}."})
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        started = time.perf_counter()
        stats = run_requests(prov, requests, Path(tmp) / "cache.jsonl", progress_stream=io.StringIO())
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return stats, wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--rpm-requests", type=int, default=300)
    args = parser.parse_args()

    server, url = start_server("--latency", str(args.latency))
    try:
        stats, wall, cpu = run(provider(url, args.requests, args.concurrency))
    finally:
        server.terminate()
    achieved = stats["success"] / wall
    ideal = args.concurrency / args.latency
    ratio = achieved / ideal
    print(
        f"throughput: {stats['success']}/{args.requests} in {wall:.2f} s = {achieved:.0f} req/s; "
        f"ideal {ideal:.0f} req/s; ratio {ratio:.3f} (goal >= 0.8): {'MET' if ratio >= 0.8 else 'MISSED'}"
    )
    print(f"client CPU {cpu:.2f} s = {1000 * cpu / args.requests:.2f} ms per request; errors {stats['errors']}")

    server, url = start_server("--latency", str(args.latency), "--rpm", str(args.rpm))
    try:
        stats, wall, _ = run(provider(url, args.rpm_requests, args.concurrency, requests_per_minute=args.rpm))
    finally:
        server.terminate()
    rate = 60 * stats["success"] / wall
    off = abs(rate - args.rpm) / args.rpm
    throttled = stats["errors"].get("http_429", 0)
    print(
        f"rate limit {args.rpm:.0f}/min: {stats['success']} requests in {wall:.1f} s = {rate:.0f}/min, "
        f"{100 * off:.1f}% off the limit (goal <= 5%), 429s provoked: {throttled}: "
        f"{'MET' if off <= 0.05 and throttled == 0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
