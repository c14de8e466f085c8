import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.smk import send_stderr_to_log  # noqa: E402
from shoplora.training import merge_adapter  # noqa: E402

log = send_stderr_to_log(snakemake)
choice = json.loads(Path(snakemake.input.choice).read_text())
merge_adapter(snakemake.input.model, choice["chosen"]["checkpoint"], snakemake.output.model,
              snakemake.output.config, snakemake.params.merge, chosen=choice["chosen"], log=log)
