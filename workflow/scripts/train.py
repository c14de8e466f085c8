from pathlib import Path

import pyarrow.parquet as pq

from shoplora.io.model_meta import read_model_meta
from shoplora.io.smk import send_stderr_to_log
from shoplora.runtime.device import check_job_cuda
from shoplora.training.lf_config import pt_yaml, sft_yaml
from shoplora.training.run import run_training

log = send_stderr_to_log(snakemake)
check_job_cuda(snakemake)
inp, out = snakemake.input, snakemake.output
template = read_model_meta(inp.model)["template"]
run_dir = Path(out.state).parent / "run"
dataset_dir = Path(inp.info).parent
rows = min(pq.read_metadata(path).num_rows for path in (inp.train, inp.val))
if snakemake.rule == "train_pt":
    cfg = pt_yaml(snakemake.params.stage, inp.model, template, dataset_dir, run_dir, cpus=snakemake.threads, rows=rows)
else:
    cfg = sft_yaml(
        snakemake.params.stage, inp.model, template, dataset_dir, run_dir,
        pt_adapter=inp.pt_adapter or None, cpus=snakemake.threads, rows=rows,
    )  # fmt: skip
# gpu/nodes/gres/tasks as the profile set them decide between a plain process, torchrun and srun.
resources = {k: snakemake.resources.get(k) for k in ("gpu", "nodes", "gres", "tasks", "mpi")}
run_training(
    cfg,
    run_dir,
    out.config,
    out.state,
    out.adapter,
    threads=snakemake.threads,
    log=log,
    resources=resources,
    deepspeed_stage=snakemake.params.stage["deepspeed_stage"],
)
