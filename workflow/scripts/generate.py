import contextlib
import json
import os
import sys
from pathlib import Path

from shoplora.generation.client import (
    FatalProviderError,
    Interrupted,
    TooManyFailures,
    check_success,
    final_records,
    read_cache,
)
from shoplora.generation.local_server import Endpoint, local_model_server
from shoplora.generation.modes import run_with_fallback
from shoplora.generation.prompts import build_requests
from shoplora.io.atomic import write_json, write_jsonl
from shoplora.io.model_meta import model_identity, read_model_meta
from shoplora.io.smk import send_stderr_to_log
from shoplora.tasks.records import load_tasks

log = send_stderr_to_log(snakemake)
# The whole section: params hold only the keys that change results (the rerun trigger).
provider = {
    **snakemake.config["generation"]["providers"][snakemake.wildcards.provider],
    "name": snakemake.wildcards.provider,
}
seeds = load_tasks(snakemake.input.seeds, "seed")
templates = {Path(path).stem: Path(path).read_text() for path in snakemake.input.prompt_templates}
# Who answers is part of every request id: a changed endpoint or base model is never served
# from the cache of the old one.
answerer = model_identity(snakemake.input.model) if provider["kind"] == "local" else provider["base_url"]


def requests_for(mode):
    return build_requests(provider, seeds, templates, seed_rng=snakemake.params.seed, answerer=answerer, mode=mode)


# The cache outlives the rule's output (Snakemake deletes outputs before a rerun), so a
# rerun never pays twice for a response it already has.
out_dir = Path(snakemake.output.raw).parent
cache = out_dir / "cache" / "responses.jsonl"
cache.parent.mkdir(parents=True, exist_ok=True)

if provider["kind"] == "local":
    server = local_model_server(
        snakemake.input.model,
        read_model_meta(snakemake.input.model)["template"],
        workdir=out_dir / "cache",
        log=log,
        # Every request in flight is decoded at once (continuous batching): one slot each.
        extra={"max_batch": provider["max_concurrency"]},
    )
else:
    server = contextlib.nullcontext(Endpoint(provider["base_url"]))
# Read inside the script, never passed through params, config or logs.
api_key = os.environ.get(provider["api_key_env"]) if provider["api_key_env"] else None

try:
    with server as endpoint:
        provider["base_url"] = endpoint.url
        # The local server's per-run token, or the provider's own key.
        key = endpoint.token or api_key
        mode, requests, stats = run_with_fallback(provider, requests_for, cache, api_key=key, log=log)
except (FatalProviderError, Interrupted) as err:
    print(f"generate: {err}\n{json.dumps(err.stats)}", file=sys.stderr)
    sys.exit(f"generate: {err}")

records = final_records(read_cache(cache), requests)
stats.update(provider=provider["name"], model=provider["model"], requests=len(requests))
by_type = stats["by_task_type"] = {}
answered = {r["id"] for r in records if r["status"] == "success"}
for request in requests:
    counts = by_type.setdefault(request["task_type"], {"requests": 0, "answered": 0, "items_requested": 0})
    counts["requests"] += 1
    counts["answered"] += request["id"] in answered
    counts["items_requested"] += request["tasks_asked"]
try:
    check_success(records, requests, provider["min_success_fraction"])
except TooManyFailures as err:
    # The outputs are not written, so a re-run retries; the counts stay in the log.
    print(f"generate: {err}\n{json.dumps(stats)}", file=sys.stderr)
    sys.exit(f"generate: provider '{provider['name']}': {err}")
write_jsonl(snakemake.output.raw, records)
write_json(snakemake.output.summary, stats)
