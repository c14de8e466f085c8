import sys

from shoplora.data.task_sets import load_task_set
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
tasks = load_task_set(snakemake.wildcards.task_set, snakemake.params.task_set)
print(f"{snakemake.wildcards.task_set}: {len(tasks)} tasks", file=sys.stderr)
write_jsonl(snakemake.output.tasks, tasks)
