import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_csv, write_json, write_jsonl, write_parquet  # noqa: E402
from shoplora.curate import curate  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402
from shoplora.tasks import load_tasks  # noqa: E402



def read_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


send_stderr_to_log(snakemake)
seeds = load_tasks(snakemake.input.seeds, "seed")
# Task sets and generated tasks are read as they are so that invalid ones become drop records
# here rather than errors. Greedy order: seeds, task sets, providers, each in config order.
task_sets = [read_records(p) for p in snakemake.input.task_sets]
generated = [read_records(p) for p in snakemake.input.generated]
eval_tasks = [t for p in snakemake.input.eval_sets for t in load_tasks(p, f"eval:{Path(p).stem}")]
kept, dropped, report = curate([seeds, *task_sets, *generated], eval_tasks, snakemake.params.curate)
print(json.dumps(report["total"]), file=sys.stderr)
write_jsonl(snakemake.output.tasks, kept)
write_parquet(snakemake.output.dropped, dropped)
write_csv(snakemake.output.dropped_table, dropped)
write_json(snakemake.output.report, report)
