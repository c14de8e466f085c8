import sys

import pandas as pd

from shoplora.data.corpus import build_pt_corpus
from shoplora.io.atomic import write_json, write_parquet
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
frames = [pd.read_parquet(p) for p in snakemake.input.sources]
corpus, dropped, summary = build_pt_corpus(
    frames, min_chars=snakemake.params.min_chars, near_dup=snakemake.params.near_duplicates
)
print(f"kept {len(corpus)}, dropped {len(dropped)}", file=sys.stderr)
write_parquet(snakemake.output.corpus, corpus)
write_parquet(snakemake.output.dropped, dropped)
write_json(snakemake.output.summary, summary)
