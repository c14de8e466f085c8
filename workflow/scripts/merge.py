import json
from pathlib import Path

from shoplora.io.smk import send_stderr_to_log
from shoplora.runtime.device import check_job_cuda
from shoplora.training.run import merge_adapter

log = send_stderr_to_log(snakemake)
device = check_job_cuda(snakemake)  # the merge runs on the GPU the job reserved
choice = json.loads(Path(snakemake.input.choice).read_text())
merge_adapter(
    snakemake.input.model,
    choice["chosen"]["checkpoint"],
    snakemake.output.model,
    snakemake.output.config,
    snakemake.params.merge,
    chosen=choice["chosen"],
    log=log,
    device=device,
)
