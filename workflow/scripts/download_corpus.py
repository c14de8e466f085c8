import sys

from shoplora.data.corpus import load_corpus_source
from shoplora.io.atomic import write_parquet
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
rows = load_corpus_source(snakemake.wildcards.source, snakemake.params.source)
print(f"{snakemake.wildcards.source}: {len(rows)} rows", file=sys.stderr)
write_parquet(snakemake.output.rows, rows)
