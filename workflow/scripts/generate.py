import json
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
from shoplora.generation.endpoint import provider_endpoint
from shoplora.generation.modes import run_with_fallback
from shoplora.generation.prompts import build_requests
from shoplora.io.atomic import write_json, write_jsonl
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

# The cache outlives the rule's output (Snakemake deletes outputs before a rerun), so a
# rerun never pays twice for a response it already has.
out_dir = Path(snakemake.output.raw).parent
cache = out_dir / "cache" / "responses.jsonl"
cache.parent.mkdir(parents=True, exist_ok=True)

try:
    with provider_endpoint(provider, snakemake.input.model, out_dir / "cache", log) as live:

        def requests_for(mode):
            return build_requests(
                live.provider, seeds, templates, seed_rng=snakemake.params.seed, answerer=live.answerer, mode=mode
            )

        mode, requests, stats = run_with_fallback(live.provider, requests_for, cache, api_key=live.api_key, log=log)
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
