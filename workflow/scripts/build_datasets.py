import json
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

from shoplora.data.sft_datasets import dataset_info, drop_overlong, sft_rows, split_train_val
from shoplora.io.atomic import write_json, write_parquet
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
cfg = snakemake.params.datasets
out = snakemake.output
# An ablation's datasets hold its SFT tasks only: it shares the full recipe's post-pretraining.
with_pt = hasattr(snakemake.input, "pt_corpus")
if with_pt:
    pt_train, pt_val = split_train_val(pd.read_parquet(snakemake.input.pt_corpus), cfg["pt_val_fraction"], cfg["seed"])
tasks = [json.loads(line) for line in Path(snakemake.input.sft_tasks).read_text().splitlines() if line.strip()]
kept, drops = drop_overlong(tasks, cfg["max_prompt_chars"])
rows_in, rows_kept = Counter(t["source"] for t in tasks), Counter(t["source"] for t in kept)
write_parquet(out.dropped, drops.frame())
write_json(out.summary, drops.summary(dict(rows_in), dict(rows_kept)))
sft_train, sft_val = split_train_val(sft_rows(kept), cfg["sft_val_fraction"], cfg["seed"])
frames = {"sft_train": sft_train, "sft_val": sft_val}
if with_pt:
    frames.update(pt_train=pt_train, pt_val=pt_val)
    print(f"PT {len(pt_train)}/{len(pt_val)} (train/val)", file=sys.stderr)
for name, frame in frames.items():
    write_parquet(getattr(out, name), frame)
print(f"SFT {len(sft_train)}/{len(sft_val)} (train/val)", file=sys.stderr)
write_json(out.info, dataset_info({name: Path(getattr(out, name)).name for name in sorted(frames)}))
