import json
import sys
from pathlib import Path

from shoplora.config.ablations import variant_sections
from shoplora.curation.curate import curate
from shoplora.curation.funnel import generation_funnel
from shoplora.io.atomic import write_csv, write_json, write_jsonl, write_parquet
from shoplora.io.smk import send_stderr_to_log
from shoplora.tasks.records import load_tasks


def read_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


send_stderr_to_log(snakemake)
seeds = load_tasks(snakemake.input.seeds, "seed")
# Task sets and generated tasks are read as they are so that invalid ones become drop records
# here rather than errors. Greedy order: seeds, task sets, providers, each in config order.
task_sets = [read_records(p) for p in snakemake.input.task_sets]
generated = [read_records(p) for p in snakemake.input.generated]
eval_tasks = [t for p in snakemake.input.eval_sets for t in load_tasks(p, f"eval:{Path(p).stem}")]
# The whole section: params.curate holds only the keys that change results (the rerun trigger).
variant = getattr(snakemake.params, "variant", None)
cfg = variant_sections(snakemake.config, variant)["curate"] if variant else snakemake.config["curate"]
kept, dropped, report = curate([seeds, *task_sets, *generated], eval_tasks, cfg)
parse_summaries = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in snakemake.input.parse_summaries}
gate_summaries = {Path(p).parent.name: json.loads(Path(p).read_text()) for p in snakemake.input.gate_summaries}
report["generated"] = generation_funnel(parse_summaries, generated, kept, dropped, gate_summaries or None)
print(json.dumps(report["total"]), file=sys.stderr)
for provider, per_type in report["generated"].items():
    for task_type, counts in per_type.items():
        print(f"generated:{provider} {task_type}: {json.dumps(counts)}", file=sys.stderr)
write_jsonl(snakemake.output.tasks, kept)
write_parquet(snakemake.output.dropped, dropped)
write_csv(snakemake.output.dropped_table, dropped)
write_json(snakemake.output.report, report)
