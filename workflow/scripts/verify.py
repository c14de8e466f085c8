import contextlib
import json
import sys
from pathlib import Path

import pandas as pd

from shoplora.generation.client import FatalProviderError, Interrupted, TooManyFailures
from shoplora.generation.endpoint import provider_endpoint
from shoplora.io.atomic import write_csv, write_json, write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.verification.gate import decide
from shoplora.verification.plan import gate_providers
from shoplora.verification.review import VerdictFileError, read_verdicts
from shoplora.verification.run import check_tasks

log = send_stderr_to_log(snakemake)
config = snakemake.config
cfg = config["verify"]
source = f"generated:{snakemake.wildcards.provider}"
# Read as parse_generated wrote them (valid records), ids kept.
tasks = [json.loads(line) for line in Path(snakemake.input.tasks).read_text().splitlines() if line.strip()]
templates = {Path(p).stem: Path(p).read_text(encoding="utf-8") for p in snakemake.input.judge_prompts}
try:
    human = read_verdicts(snakemake.input.human[0]) if snakemake.input.human else {}
except VerdictFileError as err:
    sys.exit(f"verify: {err}")
providers = gate_providers(config)
roles = {role: provider["name"] for role, provider in providers.items()}
out_dir = Path(snakemake.output.tasks).parent
# The cache outlives the outputs (Snakemake deletes them before a re-run): nothing is bought twice.
cache_dir = out_dir / "cache"
model = snakemake.input.model if snakemake.input.model else None
print(f"verify: {len(tasks)} tasks from {source}; verifier {roles['verifier']}, judge {roles['judge']}", file=log)

try:
    with contextlib.ExitStack() as stack:
        live = {}
        for provider in providers.values():  # one server for a provider that plays both roles
            if provider["name"] not in live:
                live[provider["name"]] = stack.enter_context(provider_endpoint(provider, model, cache_dir, log))
        checks, judgments, stats = check_tasks(
            tasks, live[roles["verifier"]], live[roles["judge"]], cfg, templates, snakemake.params.max_new_tokens,
            snakemake.params.parse_mode, cache_dir, log,
        )  # fmt: skip
except (FatalProviderError, Interrupted, TooManyFailures) as err:
    sys.exit(f"verify: {err}")

kept, dropped, verdicts, summary = decide(tasks, checks, judgments, human, cfg, source)
for task_type, counts in summary.items():
    print(f"verify {source} {task_type}: {json.dumps(counts)}", file=log)
table = pd.DataFrame(
    [{**v, "answers": json.dumps(v["answers"]), "judge": json.dumps(v["judge"]),
      "gate_reasons": " ".join(v["gate_reasons"]), "answer_scores": json.dumps(v["answer_scores"])} for v in verdicts]
)  # fmt: skip
write_jsonl(snakemake.output.tasks, kept)
write_jsonl(snakemake.output.verdicts, verdicts)
write_csv(snakemake.output.table, table)
write_jsonl(snakemake.output.dropped, dropped)
write_json(
    snakemake.output.summary,
    {"mode": cfg["mode"], "verifier": roles["verifier"], "judge": roles["judge"], "per_task_type": summary,
     "requests": stats},
)  # fmt: skip
