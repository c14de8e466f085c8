import sys

from shoplora.data.stream import gather
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
rows = gather(
    snakemake.wildcards.source,
    snakemake.input.shards,
    snakemake.output.rows,
    snakemake.params.max_rows,
    memory_mb=snakemake.params.memory_mb,
)
print(f"{snakemake.wildcards.source}: {rows} rows from {len(snakemake.input.shards)} shard(s)", file=sys.stderr)
