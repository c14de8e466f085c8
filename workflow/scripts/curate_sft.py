import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_csv, write_json, write_jsonl, write_parquet  # noqa: E402
from shoplora.curate import curate  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402
from shoplora.tasks import load_tasks  # noqa: E402

send_stderr_to_log(snakemake)
seeds = load_tasks(snakemake.input.seeds, "seed")
# Generated tasks were checked by parse_generated; read them as they are so that invalid
# ones become drop records here rather than errors.
generated = [[json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
             for p in snakemake.input.generated]
eval_tasks = [t for p in snakemake.input.eval_sets for t in load_tasks(p, f"eval:{Path(p).stem}")]
kept, dropped, report = curate([seeds, *generated], eval_tasks, snakemake.params.curate)
print(json.dumps(report["total"]), file=sys.stderr)
write_jsonl(snakemake.output.tasks, kept)
write_parquet(snakemake.output.dropped, dropped)
write_csv(snakemake.output.dropped_table, dropped)
write_json(snakemake.output.report, report)
