import sys

from shoplora.data.stream import source_files
from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
files = source_files(snakemake.wildcards.source, snakemake.params.source)
for origin, path, fmt, compression in files:
    print(f"{origin} -> {path} ({fmt}, {compression or 'uncompressed'})", file=sys.stderr)
write_json(snakemake.output.manifest, {"files": [list(f) for f in files]})
