import torch

from shoplora.inference.generator import Generator
from shoplora.io.atomic import write_jsonl
from shoplora.io.smk import send_stderr_to_log
from shoplora.tasks.records import load_tasks
from shoplora.tasks.types import CONSTRAINED_TASK_TYPES

send_stderr_to_log(snakemake)
torch.set_num_threads(max(1, int(snakemake.threads)))
cfg = snakemake.params.infer
tasks = load_tasks(snakemake.input.tasks, f"eval:{snakemake.wildcards.task}")
lengths = [cfg["max_new_tokens"][t["task_type"]] for t in tasks]
constrained = [cfg["constrained_decoding"] and t["task_type"] in CONSTRAINED_TASK_TYPES for t in tasks]
# The configured template; generate() stops if the model was trained with another one.
generator = Generator(
    snakemake.input.model,
    snakemake.params.template,
    backend=cfg["backend"],
    dtype=cfg["dtype"],
    engine=cfg["engine"],
    token_budget=cfg["token_budget"],
    max_prompt_tokens=cfg["max_prompt_tokens"],
    overlong_prompts=cfg["overlong_prompts"],
)
responses = generator.run(
    [t["input_field"] for t in tasks], lengths, batch_size=cfg["batch_size"], constrained=constrained
)
notes = generator.prompt_notes
write_jsonl(
    snakemake.output.predictions,
    [
        {
            "id": t["id"],
            "task_type": t["task_type"],
            "task_name": t["task_name"],
            "metric": t["metric"],
            "output_field": t["output_field"],
            "response": r,
            **({"prompt_note": note} if note else {}),
        }
        for t, r, note in zip(tasks, responses, notes)
    ],
)
