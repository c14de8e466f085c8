"""The blind answer check: a verifier's answers to a task, scored against the task's own answer
with the task type's ShopBench metric; the task's agreement is their mean score."""

from shoplora.scoring.kit import score_rows


def agreements(tasks, answers, parse_mode):
    """{task id: {"task_type", "answers", "scores", "agreement", "failed"}} for the tasks with answers.

    answers: task id -> the verifier's responses (text; None for a request that failed).
    A failed request is left out of the mean and counted in `failed`; a task with no answer
    at all has agreement None (unverified, never a disagreement). Answers are read and scored
    as evaluate reads them (`parse_mode`), so "agrees" means what a score means.
    """
    rows, owners = [], []
    failed = {}
    for task in tasks:
        for response in answers.get(task["id"], ()):
            if response is None:
                failed[task["id"]] = failed.get(task["id"], 0) + 1
                continue
            rows.append({**task, "response": response})
            owners.append(task["id"])
    scored = score_rows(rows, parse_mode) if rows else []
    out = {}
    for task in tasks:
        if task["id"] in answers:
            out[task["id"]] = {
                "task_type": task["task_type"], "answers": [], "scores": [], "agreement": None,
                "failed": failed.get(task["id"], 0),
            }  # fmt: skip
    for owner, record in zip(owners, scored):
        out[owner]["answers"].append(record["answer"])
        out[owner]["scores"].append(round(float(record["score"]), 4))
    for entry in out.values():
        if entry["scores"]:
            entry["agreement"] = round(sum(entry["scores"]) / len(entry["scores"]), 4)
    return out
