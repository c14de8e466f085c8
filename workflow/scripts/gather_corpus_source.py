import sys

from shoplora.data.stream import gather
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
rows = gather(
    snakemake.wildcards.source,
    snakemake.input.shards,
    snakemake.output.rows,
    snakemake.params.max_rows,
    memory_mb=snakemake.config["corpus"]["read_memory_mb"],  # a tuning key: not a param
)
print(f"{snakemake.wildcards.source}: {rows} rows from {len(snakemake.input.shards)} shard(s)", file=sys.stderr)
