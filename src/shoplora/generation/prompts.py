"""Generation requests: seed-example combinations, prompt text and stable request ids."""

import hashlib
import itertools
import json
import math
import random
import string
from pathlib import Path

from shoplora.generation.parts import RESPONSE_NAME, answered, describe_parts, disassemble, response_schema
from shoplora.tasks.spec import FORM_WORDS
from shoplora.tasks.types import spec, task_types


def sample_combinations(n_items, k, n_samples, seed):
    """`n_samples` distinct k-subsets of range(n_items), drawn with a seeded RNG.

    As in the study, no combination of seed examples is used twice.
    """
    if k > n_items:
        raise ValueError(f"cannot draw {k} seed examples from {n_items} seed tasks")
    total = math.comb(n_items, k)
    if n_samples > total:
        raise ValueError(
            f"only {total} distinct combinations of {k} from {n_items} seed tasks; {n_samples} requests asked for"
        )
    rng = random.Random(seed)
    if total <= 4 * n_samples:  # small space: shuffle all of it
        combos = list(itertools.combinations(range(n_items), k))
        rng.shuffle(combos)
        return combos[:n_samples]
    chosen, seen = [], set()
    while len(chosen) < n_samples:
        combo = tuple(sorted(rng.sample(range(n_items), k)))
        if combo not in seen:
            seen.add(combo)
            chosen.append(combo)
    return chosen


def format_example(task):
    """One task in the study's text format (three fields, one per line)."""
    prompt = task["input_field"].replace("\n", "\\n")
    task = answered(task)
    return (
        f"task_type: {task['task_type']}\n"
        f"input_field: {prompt}\n"
        f"output_field: {json.dumps(task['output_field'], ensure_ascii=False)}"
    )


def format_instructions(mode, task_type, n_new):
    """What the prompt says about the answer's shape, per output mode."""
    if mode == "text":
        return (
            "Separate tasks with a line containing only ###. Each task has exactly three fields, one per line:\n"
            f"task_type: {task_type}\n"
            "input_field: the full prompt shown to the assistant (use \\n for line breaks)\n"
            f"output_field: the correct answer as JSON ({FORM_WORDS[spec(task_type).answer]})"
        )
    return (
        f'Answer with one JSON object {{"tasks": [...]}} holding {n_new} new tasks. '
        f"Each task is an object with the fields of the examples:\n{describe_parts(task_type)}"
    )


def format_examples(examples, mode):
    """Seed tasks as the prompt shows them: in JSON modes as the parts the answer is made of
    (a small model copies the shape it is shown), in text mode in the study's format."""
    if mode == "text":
        return "\n###\n".join(format_example(t) for t in examples)
    shown = []
    for task in examples:
        parts = disassemble(task)
        if parts is None:
            raise ValueError(
                f"seed task {task['id']} ({task['task_type']}): its prompt has no numbered options to show as parts"
            )
        shown.append(json.dumps(parts, ensure_ascii=False))
    return "\n".join(shown)


# The placeholders a prompt template may use; {examples} it must.
TEMPLATE_FIELDS = ("k", "n", "examples", "format")


def template_problem(template):
    """Why a prompt template cannot be rendered, or None (checked before any job starts)."""
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as err:  # a stray { or }
        return f"{err} (write a literal brace as {{{{ or }}}})"
    unknown = [f for f in fields if f not in TEMPLATE_FIELDS]
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        return f"unknown placeholder {{{unknown[0]}}}; a template may use {allowed}"
    if "examples" not in fields:
        return "no {examples} placeholder: the seed examples would never be shown"
    return None


def plan_problems(config, seeds):
    """What would stop `generate` once the server is up, found before any job: a template that
    cannot be rendered, a task type without seeds, too few seeds for distinct examples."""
    problems, folder = [], Path(config["generation"]["prompt_templates"])
    for name, provider in config["generation"]["providers"].items():
        key = f"config key generation.providers.{name}"
        for task_type, count in split_requests(provider["task_mix"], provider["num_requests"]).items():
            path = folder / f"{task_type}.txt"
            problem = template_problem(path.read_text(encoding="utf-8")) if path.is_file() else None
            if problem:
                problems.append(f"{path}: {problem}")
            pool = sum(1 for t in seeds if t["task_type"] == task_type)
            k = min(provider["seed_examples_per_prompt"], pool)
            if not pool:
                problems.append(f"{key}.task_mix.{task_type}: the seed tasks have no {task_type} task to show")
            elif math.comb(pool, k) < count:
                problems.append(
                    f"{key}.num_requests: {count} {task_type} requests need {count} distinct sets of {k} seed "
                    f"examples, and {pool} seeds give {math.comb(pool, k)} (lower seed_examples_per_prompt or "
                    "add seeds)"
                )
    return problems


def render_prompt(template, examples, n_new, format_text, mode="text"):
    body = format_examples(examples, mode)
    return template.format(k=len(examples), n=n_new, examples=body, format=format_text)


def response_format(mode, task_type, n_new):
    """The request's `response_format` for an output mode (None: plain text)."""
    if mode == "json_schema":
        schema = response_schema(task_type, n_new)
        return {"type": "json_schema", "json_schema": {"name": RESPONSE_NAME, "strict": True, "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def request_id(provider, model, prompt, sampling, index, answerer, response_format=None):
    """Stable id of one request. `answerer` names who answers: the endpoint of a hosted provider,
    the base model's identity for the local one; a change of either means new answers, as does
    a changed `response_format` (schema included)."""
    key = [provider, model, prompt, sampling, index, answerer]
    if response_format is not None:
        key.append(response_format)
    key = json.dumps(key, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def split_requests(task_mix, num_requests):
    """Requests per task type: `num_requests` split by the weights, largest remainder first
    (ties in registry order), so the counts add up exactly."""
    weights = {t: task_mix.get(t, 0) for t in task_types() if task_mix.get(t, 0) > 0}
    total = sum(weights.values())
    shares = {t: num_requests * w / total for t, w in weights.items()}
    counts = {t: math.floor(share) for t, share in shares.items()}
    by_remainder = sorted(weights, key=lambda t: -(shares[t] - counts[t]))
    for t in by_remainder[: num_requests - sum(counts.values())]:
        counts[t] += 1
    return {t: c for t, c in counts.items() if c}


def build_requests(provider, seeds, templates, seed_rng=0, answerer=None, mode=None):
    """The requests of one provider: id, task type, output mode, seed ids used, chat messages
    and `response_format`. Each request asks for `tasks_per_request` tasks of one type, shown
    seed examples of that type.

    templates: task type -> prompt template. answerer: who answers (see request_id); by default
    the provider's base_url. mode: the output mode, by default the provider's `output`.
    """
    answerer = provider["base_url"] if answerer is None else answerer
    mode = mode or provider["output"]
    k, n_new = provider["seed_examples_per_prompt"], provider["tasks_per_request"]
    sampling = provider["sampling"]
    requests = []
    for task_type, count in split_requests(provider["task_mix"], provider["num_requests"]).items():
        pool = [t for t in seeds if t["task_type"] == task_type]
        if not pool:
            raise ValueError(
                f"provider '{provider['name']}' asks for {task_type} tasks (task_mix), but the seed tasks have none"
            )
        combos = sample_combinations(len(pool), min(k, len(pool)), count, f"{seed_rng}:{task_type}")
        fmt = format_instructions(mode, task_type, n_new)
        answer_format = response_format(mode, task_type, n_new)
        for combo in combos:
            examples = [pool[i] for i in combo]
            prompt = render_prompt(templates[task_type], examples, n_new, fmt, mode)
            index = len(requests)
            rid = request_id(provider["name"], provider["model"], prompt, sampling, index, answerer, answer_format)
            requests.append(
                {
                    "id": rid,
                    "index": index,
                    "task_type": task_type,
                    "output": mode,
                    "tasks_asked": n_new,
                    "seed_ids": [t["id"] for t in examples],
                    "messages": [{"role": "user", "content": prompt}],
                    "response_format": answer_format,
                }
            )
    return requests
