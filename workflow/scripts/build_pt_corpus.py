import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_json, write_parquet  # noqa: E402
from shoplora.corpus import build_pt_corpus  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
frames = [pd.read_parquet(p) for p in snakemake.input.sources]
corpus, dropped, summary = build_pt_corpus(frames, min_chars=snakemake.params.min_chars)
print(f"kept {len(corpus)}, dropped {len(dropped)}", file=sys.stderr)
write_parquet(snakemake.output.corpus, corpus)
write_parquet(snakemake.output.dropped, dropped)
write_json(snakemake.output.summary, summary)
