import sys

from shoplora.data.sources import hub_pin
from shoplora.data.task_sets import load_task_set
from shoplora.io.atomic import write_json, write_jsonl
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
spec, hub = hub_pin(snakemake.params.task_set)  # a Hub dataset: read, and record, its commit
tasks = load_task_set(snakemake.wildcards.task_set, spec)
print(f"{snakemake.wildcards.task_set}: {len(tasks)} tasks", file=sys.stderr)
write_jsonl(snakemake.output.tasks, tasks)
write_json(snakemake.output.source, {"task_set": snakemake.wildcards.task_set, "hub": hub})
