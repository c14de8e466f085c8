"""infer and infer_checkpoint: one eval (or dev) set's predictions from one model."""

from shoplora.inference.generator import Generator
from shoplora.tasks.records import Prediction, load_tasks
from shoplora.tasks.types import spec


def predict_eval_set(tasks_path, label, model_dir, template, cfg, adapter=None):
    """Prediction records for every task of `tasks_path` (`label` names the file in errors).

    cfg: the `infer` config section. adapter: a LoRA checkpoint applied over `model_dir`.
    The configured template is used; generate() stops if the model was trained with another.
    """
    tasks = load_tasks(tasks_path, label)
    lengths = [cfg["max_new_tokens"][t["task_type"]] for t in tasks]
    constrained = [cfg["constrained_decoding"] and spec(t["task_type"]).constrained for t in tasks]
    generator = Generator(
        model_dir,
        template,
        backend=cfg["backend"],
        dtype=cfg["dtype"],
        engine=cfg["engine"],
        token_budget=cfg["token_budget"],
        max_prompt_tokens=cfg["max_prompt_tokens"],
        overlong_prompts=cfg["overlong_prompts"],
        adapter=adapter,
    )
    responses = generator.run(
        [t["input_field"] for t in tasks], lengths, batch_size=cfg["batch_size"], constrained=constrained
    )
    return [Prediction.of(t, r, note).to_record() for t, r, note in zip(tasks, responses, generator.prompt_notes)]
