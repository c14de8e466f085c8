from shoplora.io.smk import send_stderr_to_log
from shoplora.training.base_model import prepare_base_model

send_stderr_to_log(snakemake)
prepare_base_model(snakemake.params.base_model, snakemake.output.model)
