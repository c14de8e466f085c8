import json
import sys
from pathlib import Path

from shoplora.evaluation.ablation_table import ablation_table, to_markdown
from shoplora.evaluation.plots import ablation_bars
from shoplora.evaluation.table import to_records
from shoplora.io.atomic import atomic_path, write_json, write_text
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
scores = [json.loads(Path(p).read_text()) for p in snakemake.input.scores]
cfg = snakemake.params.table
table = ablation_table(
    scores, snakemake.params.ablations, cfg["bootstrap_resamples"], cfg["bootstrap_seed"], cfg["confidence"]
)
with atomic_path(snakemake.output.csv) as tmp:
    table.to_csv(tmp, index=False)
write_text(snakemake.output.md, to_markdown(table, cfg["confidence"]))
write_json(snakemake.output.json, {"confidence": cfg["confidence"], "rows": to_records(table)})
ablation_bars(table, snakemake.output.plot)
print(table.to_string(), file=sys.stderr)
