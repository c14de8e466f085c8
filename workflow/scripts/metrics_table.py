import json
import sys
from pathlib import Path

from shoplora.evaluation.table import summary_table, to_markdown, to_records
from shoplora.io.atomic import atomic_path, write_json, write_text
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
scores = [json.loads(Path(p).read_text()) for p in snakemake.input.scores]
modes = sorted({s["parse_mode"] for s in scores})
cfg = snakemake.params.table
table = summary_table(scores, cfg["bootstrap_resamples"], cfg["bootstrap_seed"], cfg["confidence"])
with atomic_path(snakemake.output.csv) as tmp:
    table.to_csv(tmp, index=False)
write_text(snakemake.output.md, to_markdown(table, "/".join(modes), cfg["confidence"]))
records = to_records(table)
write_json(
    snakemake.output.json,
    {
        "parse_mode": "/".join(modes),
        "overall": next(r for r in records if r["level"] == "overall"),
        "confidence": cfg["confidence"],
        "bootstrap_resamples": cfg["bootstrap_resamples"],
        "rows": records,
    },
)
print(table.to_string(), file=sys.stderr)
