import json
from pathlib import Path

from shoplora.evaluation.plots import sweep_figure
from shoplora.evaluation.sweep import sweep_table, to_markdown
from shoplora.evaluation.table import to_records
from shoplora.io.atomic import atomic_path, write_json, write_text
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
cfg = snakemake.params.table
scores = [json.loads(Path(p).read_text()) for p in snakemake.input.scores]
state = json.loads(Path(snakemake.input.state).read_text())
selection = json.loads(Path(snakemake.input.choice).read_text())
frame, summary = sweep_table(
    scores, state, selection, cfg["bootstrap_resamples"], cfg["bootstrap_seed"], cfg["confidence"]
)
with atomic_path(snakemake.output.csv) as tmp:
    frame.to_csv(tmp, index=False)
write_text(snakemake.output.md, to_markdown(frame, summary))
write_json(snakemake.output.json, {**summary, "rows": to_records(frame)})
sweep_figure(frame, summary, snakemake.input.state, snakemake.output.figure)
