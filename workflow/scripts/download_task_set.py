import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_jsonl  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402
from shoplora.task_sets import load_task_set  # noqa: E402

send_stderr_to_log(snakemake)
tasks = load_task_set(snakemake.wildcards.task_set, snakemake.params.task_set)
print(f"{snakemake.wildcards.task_set}: {len(tasks)} tasks", file=sys.stderr)
write_jsonl(snakemake.output.tasks, tasks)
