import json
from pathlib import Path

import pandas as pd

from shoplora.evaluation.plots import loss_curves, placeholder, score_bars
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
chosen = json.loads(Path(snakemake.input.choice).read_text())["chosen"]["step"]
loss_curves(snakemake.input.sft, snakemake.output.loss_sft, "Supervised fine-tuning", chosen_step=chosen)
if "pt" in snakemake.input.keys():  # noqa: SIM118 - `in` on a Namedlist looks at values
    loss_curves(snakemake.input.pt, snakemake.output.loss_pt, "Post-pretraining")
else:
    placeholder(snakemake.output.loss_pt, "Post-pretraining was switched off (train_pt.enabled: false)")
table = pd.DataFrame(json.loads(Path(snakemake.input.table).read_text())["rows"])
score_bars(table, snakemake.output.scores)
