"""Generation requests: seed-example combinations, prompt text and stable request ids."""

import hashlib
import itertools
import json
import math
import random


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
    return (
        f"task_type: {task['task_type']}\n"
        f"input_field: {prompt}\n"
        f"output_field: {json.dumps(task['output_field'], ensure_ascii=False)}"
    )


def render_prompt(template, examples, n_new):
    body = "\n###\n".join(format_example(t) for t in examples)
    return template.format(k=len(examples), n=n_new, examples=body)


def request_id(provider, model, prompt, sampling, index, answerer):
    """Stable id of one request. `answerer` names who answers: the endpoint of a hosted provider,
    the base model's identity for the local one; a change of either means new answers."""
    key = json.dumps([provider, model, prompt, sampling, index, answerer], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def build_requests(provider, seeds, template, seed_rng=0, answerer=None):
    """The requests of one provider: id, seed ids used, and the chat messages.

    answerer: who answers (see request_id); by default the provider's base_url.
    """
    answerer = provider["base_url"] if answerer is None else answerer
    k = provider["seed_examples_per_prompt"]
    combos = sample_combinations(len(seeds), k, provider["num_requests"], seed_rng)
    sampling = provider["sampling"]
    requests = []
    for index, combo in enumerate(combos):
        examples = [seeds[i] for i in combo]
        prompt = render_prompt(template, examples, provider["tasks_per_request"])
        requests.append(
            {
                "id": request_id(provider["name"], provider["model"], prompt, sampling, index, answerer),
                "index": index,
                "seed_ids": [t["id"] for t in examples],
                "messages": [{"role": "user", "content": prompt}],
            }
        )
    return requests
