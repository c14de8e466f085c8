import json
import sys
from pathlib import Path

from shoplora.data.stream import read_shard
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
# url and hf sources were fetched once by fetch_corpus_source; file sources are read in place.
fetched = snakemake.input.fetched
files = [tuple(f) for f in json.loads(Path(fetched).read_text())["files"]] if fetched else None
stats = read_shard(
    snakemake.wildcards.source,
    snakemake.params.source,
    int(snakemake.wildcards.shard),
    snakemake.params.shards,
    snakemake.output.rows,
    files=files,
    memory_mb=snakemake.config["corpus"]["read_memory_mb"],  # a tuning key: not a param
)
print(f"{snakemake.wildcards.source} shard {snakemake.wildcards.shard}: {stats}", file=sys.stderr)
