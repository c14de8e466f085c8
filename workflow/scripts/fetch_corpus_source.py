import sys

from shoplora.data.sources import hub_pin
from shoplora.data.stream import source_files
from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
spec, hub = hub_pin(snakemake.params.source)  # a Hub dataset: read, and record, its commit
files = source_files(snakemake.wildcards.source, spec)
for origin, path, fmt, compression in files:
    print(f"{origin} -> {path} ({fmt}, {compression or 'uncompressed'})", file=sys.stderr)
write_json(snakemake.output.manifest, {"files": [list(f) for f in files], "hub": hub})
