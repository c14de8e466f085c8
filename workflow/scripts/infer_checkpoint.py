from pathlib import Path

import torch

from shoplora.inference.eval_set import predict_eval_set
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.training.checkpoints import complete_checkpoints

send_stderr_to_log(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
run_dir = Path(snakemake.input.state).parent / "run"
step = int(snakemake.wildcards.step)
saved = complete_checkpoints(run_dir)
if step not in saved:
    raise SystemExit(
        f"{run_dir}: no complete checkpoint-{step} (saved: {list(saved)}); "
        "list only saved steps in evaluate.checkpoints"
    )
predictions = predict_eval_set(
    snakemake.input.tasks,
    f"{snakemake.wildcards.split}:{snakemake.wildcards.task}",
    snakemake.input.model,
    snakemake.params.template,
    snakemake.config["infer"],  # params.infer lacks the tuning keys
    adapter=saved[step],
)
write_jsonl(snakemake.output.predictions, predictions)
