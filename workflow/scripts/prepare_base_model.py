import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.model_prep import prepare_base_model  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
prepare_base_model(snakemake.params.base_model, snakemake.output.model)
