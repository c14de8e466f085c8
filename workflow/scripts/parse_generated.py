import sys

from shoplora.generation.client import read_cache
from shoplora.generation.parse import parse_responses
from shoplora.io.atomic import write_json, write_jsonl
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
tasks, failures, summary = parse_responses(read_cache(snakemake.input.raw), snakemake.wildcards.provider)
print(f"{len(tasks)} tasks parsed, {len(failures)} failures", file=sys.stderr)
for task_type, entry in summary.items():
    print(f"  {task_type}: {entry}", file=sys.stderr)
write_jsonl(snakemake.output.tasks, tasks)
write_jsonl(snakemake.output.failures, failures)
write_json(snakemake.output.summary, summary)
