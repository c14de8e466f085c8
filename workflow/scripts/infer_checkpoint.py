from pathlib import Path

import torch

from shoplora.inference.eval_set import predict_checkpoints
from shoplora.io.atomic import atomic_dir, write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.runtime.device import check_job_cuda
from shoplora.training.checkpoints import complete_checkpoints

send_stderr_to_log(snakemake)
check_job_cuda(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
run_dir = Path(snakemake.input.state).parent / "run"
saved = complete_checkpoints(run_dir)
wanted = snakemake.params.steps
steps = sorted(saved) if wanted == "all" else list(wanted)
missing = [step for step in steps if step not in saved]
if missing:
    raise SystemExit(
        f"{run_dir}: no complete checkpoint at steps {missing} (saved: {sorted(saved)}); "
        "list only saved steps in evaluate.checkpoints"
    )
cfg = snakemake.config["infer"]  # params.infer lacks the tuning keys
sets = snakemake.params.sets
labels = [(f"{snakemake.wildcards.split}:{name}", path) for name, path in sets.items()]
answers = predict_checkpoints(
    snakemake.input.model, snakemake.params.template, cfg, {step: saved[step] for step in steps}, labels
)
with atomic_dir(snakemake.output.predictions) as folder:
    for step, per_set in answers.items():
        for name, records in zip(sets, per_set):
            write_jsonl(Path(folder) / f"step-{step}" / f"{name}.jsonl", records)
