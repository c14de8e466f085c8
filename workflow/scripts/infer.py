import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_jsonl  # noqa: E402
from shoplora.inference import generate  # noqa: E402
from shoplora.model_prep import read_model_meta  # noqa: E402
from shoplora.smk import send_stderr_to_log, threads_for_torch  # noqa: E402
from shoplora.tasks import load_tasks  # noqa: E402

send_stderr_to_log(snakemake)
threads_for_torch(snakemake)
cfg = snakemake.params.infer
tasks = load_tasks(snakemake.input.tasks, f"eval:{snakemake.wildcards.task}")
template = read_model_meta(snakemake.input.model)["template"]
lengths = [cfg["max_new_tokens"].get(t["task_type"], 64) for t in tasks]
responses = generate(snakemake.input.model, template, [t["input_field"] for t in tasks], lengths,
                     batch_size=cfg["batch_size"])
write_jsonl(snakemake.output.predictions, [
    {"id": t["id"], "task_type": t["task_type"], "task_name": t["task_name"], "metric": t["metric"],
     "output_field": t["output_field"], "response": r} for t, r in zip(tasks, responses)])
