import torch

from shoplora.inference.eval_set import generator_for, predict_eval_sets
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.runtime.device import check_job_cuda

send_stderr_to_log(snakemake)
check_job_cuda(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
cfg = snakemake.config["infer"]  # params.infer lacks the tuning keys
generator = generator_for(snakemake.input.model, snakemake.params.template, cfg)
sets = list(zip(snakemake.params.labels, snakemake.input.tasks))
for records, output in zip(predict_eval_sets(generator, sets, cfg), snakemake.output.predictions):
    write_jsonl(output, records)
