"""infer and infer_checkpoint: the predictions of one model (or of every checkpoint of the sweep)
for every eval (or dev) set.

The model is loaded once per job and answers every set in one run; each set still gets its own
predictions file, so evaluation, `--forcerun` of one file and per-task outputs work as before.
"""

import sys

from shoplora.inference.generator import Generator, choose_backend
from shoplora.tasks.records import Prediction, load_tasks
from shoplora.tasks.types import spec


def generator_for(model_dir, template, cfg, adapter=None, adapters=None):
    """The Generator the `infer` config section describes (loaded on first use).

    The configured template is used; it stops if the model was trained with another.
    adapter: a LoRA checkpoint applied over `model_dir`; adapters: {name: folder} served by one
    vLLM engine."""
    return Generator(
        model_dir,
        template,
        backend=cfg["backend"],
        dtype=cfg["dtype"],
        engine=cfg["engine"],
        token_budget=cfg["token_budget"],
        max_prompt_tokens=cfg["max_prompt_tokens"],
        overlong_prompts=cfg["overlong_prompts"],
        adapter=adapter,
        vllm=cfg["vllm"],
        adapters=adapters,
    )


def _load_sets(sets, cfg):
    """The tasks of each set, and per task its generation length and answer constraint."""
    tasks_of = [load_tasks(path, label) for label, path in sets]
    tasks = [t for set_tasks in tasks_of for t in set_tasks]
    lengths = [cfg["max_new_tokens"][t["task_type"]] for t in tasks]
    constrained = [cfg["constrained_decoding"] and spec(t["task_type"]).constrained for t in tasks]
    return tasks_of, tasks, lengths, constrained


def _per_set(tasks_of, records):
    per_set, start = [], 0
    for set_tasks in tasks_of:
        per_set.append(records[start : start + len(set_tasks)])
        start += len(set_tasks)
    return per_set


def predict_eval_sets(generator, sets, cfg, progress=sys.stderr):
    """Prediction records for every task of each set, from one run of the loaded model (one
    vLLM engine, one continuous batch across sets). sets: (label, tasks path) pairs; label names
    the file in errors. cfg: the `infer` config section. Returns one list of records per set."""
    tasks_of, tasks, lengths, constrained = _load_sets(sets, cfg)
    print(f"infer: {len(tasks)} tasks from {len(sets)} set(s) with one loaded model", file=progress, flush=True)
    responses = generator.run(
        [t["input_field"] for t in tasks], lengths, batch_size=cfg["batch_size"], constrained=constrained,
        progress=progress,
    )  # fmt: skip
    records = [Prediction.of(t, r, note).to_record() for t, r, note in zip(tasks, responses, generator.prompt_notes)]
    return _per_set(tasks_of, records)


def predict_eval_set(generator, tasks_path, label, cfg, progress=sys.stderr):
    """The predictions of one set (see predict_eval_sets)."""
    return predict_eval_sets(generator, [(label, tasks_path)], cfg, progress)[0]


def predict_checkpoints(model_dir, template, cfg, checkpoints, sets, progress=sys.stderr):
    """{step: one list of records per set} for each LoRA checkpoint ({step: folder}) over
    `model_dir`. vLLM serves every adapter from one engine and answers all of them in one run;
    transformers folds each adapter into a fresh load of the base model in turn."""
    if choose_backend(cfg["backend"], cfg["vllm"]["python"]) != "vllm":
        return {
            step: predict_eval_sets(generator_for(model_dir, template, cfg, adapter=folder), sets, cfg, progress)
            for step, folder in checkpoints.items()
        }
    names = {step: f"step-{step}" for step in checkpoints}
    served = generator_for(model_dir, template, cfg, adapters={names[s]: f for s, f in checkpoints.items()})
    tasks_of, tasks, lengths, constrained = _load_sets(sets, cfg)
    steps = list(checkpoints)
    print(f"infer: {len(tasks)} tasks x {len(steps)} checkpoints with one vLLM engine", file=progress, flush=True)
    responses = served.run(
        [t["input_field"] for t in tasks] * len(steps), lengths * len(steps), batch_size=cfg["batch_size"],
        constrained=constrained * len(steps), progress=progress,
        adapter_of=[names[step] for step in steps for _ in tasks],
    )  # fmt: skip
    notes = served.prompt_notes
    out = {}
    for k, step in enumerate(steps):
        part = slice(k * len(tasks), (k + 1) * len(tasks))
        records = [Prediction.of(t, r, n).to_record() for t, r, n in zip(tasks, responses[part], notes[part])]
        out[step] = _per_set(tasks_of, records)
    return out
