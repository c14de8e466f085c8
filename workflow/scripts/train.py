import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.lf_config import pt_yaml, sft_yaml  # noqa: E402
from shoplora.model_prep import read_model_meta  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402
from shoplora.training import run_training  # noqa: E402

log = send_stderr_to_log(snakemake)
inp, out = snakemake.input, snakemake.output
template = read_model_meta(inp.model)["template"]
run_dir = Path(out.state).parent / "run"
dataset_dir = Path(inp.info).parent
if snakemake.rule == "train_pt":
    cfg = pt_yaml(snakemake.params.stage, inp.model, template, dataset_dir, run_dir)
else:
    cfg = sft_yaml(snakemake.params.stage, inp.model, template, dataset_dir, run_dir,
                   pt_adapter=inp.pt_adapter or None)
# gpu/nodes/gres as the profile set them decide between a plain process, torchrun and srun.
resources = {k: snakemake.resources.get(k) for k in ("gpu", "nodes", "gres")}
run_training(cfg, run_dir, out.config, out.state, out.adapter, threads=snakemake.threads, log=log,
             resources=resources, deepspeed_stage=snakemake.params.stage.get("deepspeed_stage", 0))
