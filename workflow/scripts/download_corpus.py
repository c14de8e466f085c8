import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_parquet  # noqa: E402
from shoplora.corpus import load_corpus_source  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
rows = load_corpus_source(snakemake.wildcards.source, snakemake.params.source)
print(f"{snakemake.wildcards.source}: {len(rows)} rows", file=sys.stderr)
write_parquet(snakemake.output.rows, rows)
