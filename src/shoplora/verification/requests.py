"""The gate's requests: blind answers to a task's prompt, and a judge's rating of the task.

Each request is one outcome record in the response cache (generation.client), so a re-run
buys nothing twice; its id holds everything that changes the answer (provider, model, who
answers, the prompt, the sampling and the response format), so a changed judge model or
prompt buys again.
"""

from shoplora.generation.prompts import request_id

ANSWER, JUDGE = "answer", "judge"


def _request(provider, answerer, role, task, index, messages, sampling, response_format=None, output="text"):
    prompt = messages[-1]["content"]
    rid = request_id(
        f"{provider['name']}:{role}", provider["model"], prompt, {**provider["sampling"], **sampling}, index,
        answerer, response_format,
    )  # fmt: skip
    return {
        "id": rid,
        "index": index,
        "role": role,
        "task_id": task["id"],
        "task_type": task["task_type"],
        "output": output,
        "seed_ids": [task["id"]],
        "messages": messages,
        "own_sampling": sampling,
        "response_format": response_format,
    }


def answer_requests(provider, answerer, tasks, samples, max_new_tokens):
    """`samples` requests per task: its `input_field` as the eval prompt is (the one user
    message), with the eval's answer length for its type. A sampling `seed` moves on by one per
    sample, so a seeded server gives different samples rather than one answer three times."""
    seed = provider["sampling"].get("seed")
    out = []
    for task in tasks:
        for sample in range(samples):
            sampling = {"max_tokens": max_new_tokens[task["task_type"]]}
            if seed is not None:
                sampling["seed"] = seed + sample
            messages = [{"role": "user", "content": task["input_field"]}]
            out.append(_request(provider, answerer, ANSWER, task, sample, messages, sampling))
    return out


def judge_requests(provider, answerer, tasks, prompt_of, response_format_of, mode):
    """One request per task: the judge prompt (prompt_of(task)) in the output `mode`."""
    out = []
    for task in tasks:
        messages = [{"role": "user", "content": prompt_of(task)}]
        out.append(_request(provider, answerer, JUDGE, task, 0, messages, {}, response_format_of(mode), mode))
    return out


def unique(requests):
    """The requests without repeats: two identical tasks ask the same thing once."""
    seen, out = set(), []
    for request in requests:
        if request["id"] not in seen:
            seen.add(request["id"])
            out.append(request)
    return out
