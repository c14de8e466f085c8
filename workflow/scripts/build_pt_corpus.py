import sys
from pathlib import Path

import pandas as pd

from shoplora.data.corpus import build_pt_corpus
from shoplora.data.stream import row_counts
from shoplora.io.atomic import write_json, write_parquet
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
frames = [pd.read_parquet(p) for p in snakemake.input.sources]
# gather_corpus_source names each file after its source and stores the rows it left out.
source_rows = {Path(p).stem: row_counts(p) for p in snakemake.input.sources}
corpus, dropped, summary = build_pt_corpus(
    frames,
    min_chars=snakemake.params.min_chars,
    near_dup=snakemake.params.near_duplicates,
    source_rows=source_rows,
)
print(f"kept {len(corpus)}, dropped {len(dropped)}", file=sys.stderr)
write_parquet(snakemake.output.corpus, corpus)
write_parquet(snakemake.output.dropped, dropped)
write_json(snakemake.output.summary, summary)
