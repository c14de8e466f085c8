from pathlib import Path

from shoplora.io.model_meta import read_model_meta
from shoplora.io.smk import send_stderr_to_log
from shoplora.training.lf_config import pt_yaml, sft_yaml
from shoplora.training.run import run_training

log = send_stderr_to_log(snakemake)
inp, out = snakemake.input, snakemake.output
template = read_model_meta(inp.model)["template"]
run_dir = Path(out.state).parent / "run"
dataset_dir = Path(inp.info).parent
if snakemake.rule == "train_pt":
    cfg = pt_yaml(snakemake.params.stage, inp.model, template, dataset_dir, run_dir)
else:
    cfg = sft_yaml(snakemake.params.stage, inp.model, template, dataset_dir, run_dir, pt_adapter=inp.pt_adapter or None)
# gpu/nodes/gres as the profile set them decide between a plain process, torchrun and srun.
resources = {k: snakemake.resources.get(k) for k in ("gpu", "nodes", "gres")}
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
