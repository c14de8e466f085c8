import json
import sys
from pathlib import Path

from shoplora.evaluation.table import summary_table, to_markdown, to_records
from shoplora.io.atomic import atomic_path, write_json, write_text
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
scores = [json.loads(Path(p).read_text()) for p in snakemake.input.scores]
modes = sorted({s["parse_mode"] for s in scores})
table = summary_table(scores)
with atomic_path(snakemake.output.csv) as tmp:
    table.to_csv(tmp, index=False)
write_text(snakemake.output.md, to_markdown(table, "/".join(modes)))
write_json(snakemake.output.json, {"parse_mode": "/".join(modes), "rows": to_records(table)})
print(table.to_string(), file=sys.stderr)
