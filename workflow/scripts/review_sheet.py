import json
import sys
from pathlib import Path

import pandas as pd

from shoplora.io.atomic import write_csv, write_json, write_text
from shoplora.io.smk import send_stderr_to_log
from shoplora.verification import review, review_page


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


send_stderr_to_log(snakemake)
cfg = snakemake.params.review
verdicts = [v for path in snakemake.input.verdicts for v in read_jsonl(path)]
tasks = {t["id"]: t for path in snakemake.input.tasks for t in read_jsonl(path)}
try:
    human = review.read_verdicts(snakemake.input.human[0]) if snakemake.input.human else {}
except review.VerdictFileError as err:
    sys.exit(f"review_sheet: {err}")
ids = review.sample(verdicts, cfg["sample_per_type"], cfg["seed"])
rows = review.sheet_rows(ids, verdicts, tasks, human)
stats = review.review_stats(verdicts, human) if snakemake.input.human else None
print(f"review_sheet: {len(rows)} tasks sampled from {len(verdicts)}", file=sys.stderr)
if stats:
    print(json.dumps({k: v for k, v in stats.items() if k != "per_task_type"}), file=sys.stderr)
    if stats["unmatched_verdicts"]:
        print(
            f"review_sheet: {len(stats['unmatched_verdicts'])} verdicts name tasks that no longer exist: "
            + ", ".join(stats["unmatched_verdicts"][:10]),
            file=sys.stderr,
        )
write_csv(snakemake.output.sheet, pd.DataFrame(rows, columns=review.SHEET_COLUMNS))
write_text(snakemake.output.page, review_page.render(rows, stats, cfg["verdicts"]))
write_json(snakemake.output.stats, {"sampled": len(rows), "tasks": len(verdicts), "review": stats})
