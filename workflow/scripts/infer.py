import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_jsonl  # noqa: E402
from shoplora.answer_constraint import CONSTRAINED_TASK_TYPES  # noqa: E402
from shoplora.inference import generate  # noqa: E402
from shoplora.smk import send_stderr_to_log, threads_for_torch  # noqa: E402
from shoplora.tasks import load_tasks  # noqa: E402

send_stderr_to_log(snakemake)
threads_for_torch(snakemake)
cfg = snakemake.params.infer
tasks = load_tasks(snakemake.input.tasks, f"eval:{snakemake.wildcards.task}")
lengths = [cfg["max_new_tokens"].get(t["task_type"], 64) for t in tasks]
constrained = [cfg.get("constrained_decoding", False) and t["task_type"] in CONSTRAINED_TASK_TYPES for t in tasks]
# The configured template; generate() stops if the model was trained with another one.
responses = generate(snakemake.input.model, snakemake.params.template, [t["input_field"] for t in tasks],
                     lengths, batch_size=cfg["batch_size"], constrained=constrained,
                     backend=cfg.get("backend", "auto"), dtype=cfg.get("dtype", "auto"),
                     engine=cfg.get("engine", "continuous"), token_budget=cfg.get("token_budget", 256))
write_jsonl(snakemake.output.predictions, [
    {"id": t["id"], "task_type": t["task_type"], "task_name": t["task_name"], "metric": t["metric"],
     "output_field": t["output_field"], "response": r} for t, r in zip(tasks, responses)])
