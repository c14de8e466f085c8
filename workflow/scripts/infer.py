import torch

from shoplora.inference.eval_set import predict_eval_set
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log

send_stderr_to_log(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
predictions = predict_eval_set(
    snakemake.input.tasks,
    f"eval:{snakemake.wildcards.task}",
    snakemake.input.model,
    snakemake.params.template,
    snakemake.config["infer"],  # params.infer lacks the tuning keys
)
write_jsonl(snakemake.output.predictions, predictions)
