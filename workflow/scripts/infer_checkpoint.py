from pathlib import Path

import torch

from shoplora.inference.eval_set import generator_for, predict_eval_sets
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.runtime.device import check_job_cuda
from shoplora.training.checkpoints import complete_checkpoints

send_stderr_to_log(snakemake)
check_job_cuda(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
run_dir = Path(snakemake.input.state).parent / "run"
step = int(snakemake.wildcards.step)
saved = complete_checkpoints(run_dir)
if step not in saved:
    raise SystemExit(
        f"{run_dir}: no complete checkpoint-{step} (saved: {list(saved)}); "
        "list only saved steps in evaluate.checkpoints"
    )
cfg = snakemake.config["infer"]  # params.infer lacks the tuning keys
generator = generator_for(snakemake.input.model, snakemake.params.template, cfg, adapter=saved[step])
sets = list(zip(snakemake.params.labels, snakemake.input.tasks))
for records, output in zip(predict_eval_sets(generator, sets, cfg), snakemake.output.predictions):
    write_jsonl(output, records)
