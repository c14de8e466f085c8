"""One provider's tasks through the gate's checks: the verifier's blind answers and the judge's
verdicts, bought through the generation client and its response cache."""

from pathlib import Path

from shoplora.generation.client import check_success, final_records, read_cache, run_requests
from shoplora.generation.modes import run_with_fallback
from shoplora.tasks.types import spec
from shoplora.verification import judge
from shoplora.verification.agreement import agreements
from shoplora.verification.requests import answer_requests, judge_requests, unique


def _with_sampling(answering, sampling):
    """The provider as the gate uses it: the gate's sampling instead of the generation one."""
    return {**answering.provider, "sampling": dict(sampling)}


def blind_answers(tasks, verifier, cfg, max_new_tokens, cache, log):
    """(task id -> the verifier's responses, None for a failed request; request stats) for the
    tasks whose type has a checkable answer, `cfg["samples"]` answers each."""
    checkable = [t for t in tasks if spec(t["task_type"]).checkable]
    if not checkable or not cfg["samples"]:
        return {}, None
    provider = _with_sampling(verifier, cfg["sampling"])
    asked = answer_requests(provider, verifier.answerer, checkable, cfg["samples"], max_new_tokens)
    # Tasks with the same prompt (a planted copy, a task whose answer alone differs) ask the
    # same question: it is bought once and its answers count for each of them.
    askers = {}
    for request in asked:
        askers.setdefault(request["id"], {})[request["task_id"]] = None
    requests = unique(asked)
    stats = run_requests(provider, requests, cache, api_key=verifier.api_key, progress_stream=log)
    records = final_records(read_cache(cache), requests)
    check_success(records, requests, provider["min_success_fraction"])
    by_id = {r["id"]: r for r in records}
    answers = {}
    for request in requests:
        record = by_id.get(request["id"], {})
        text = record.get("text") if record.get("status") == "success" else None
        for task_id in askers[request["id"]]:
            answers.setdefault(task_id, []).append(text)
    return answers, stats


def verdicts(tasks, judge_answering, cfg, templates, cache, log):
    """(task id -> (verdict or None, failure reason or None); request stats): one judge request
    per task in the judge provider's output mode, falling back as generation does."""
    if not tasks:
        return {}, None
    provider = _with_sampling(judge_answering, cfg["judge_sampling"])

    def requests_for(mode):
        return unique(
            judge_requests(
                provider, judge_answering.answerer, tasks,
                lambda task: judge.render(templates[task["task_type"]], task), judge.response_format, mode,
            )
        )  # fmt: skip

    mode, requests, stats = run_with_fallback(provider, requests_for, cache, api_key=judge_answering.api_key, log=log)
    records = final_records(read_cache(cache), requests)
    check_success(records, requests, provider["min_success_fraction"])
    by_task = {}
    by_id = {r["id"]: r for r in records}
    for request in requests:
        record = by_id.get(request["id"], {})
        if record.get("status") == "success":
            by_task[request["task_id"]] = judge.read_verdict(record.get("text"))
        else:
            by_task[request["task_id"]] = (None, f"request_failed:{record.get('error', 'not_sent')}")
    return by_task, stats


def check_tasks(tasks, verifier, judge_answering, cfg, templates, max_new_tokens, parse_mode, cache_dir, log):
    """(checks, judgments, request stats) for one provider's tasks; see gate.decide."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    answers, answer_stats = blind_answers(tasks, verifier, cfg, max_new_tokens, cache_dir / "answers.jsonl", log)
    checks = agreements(tasks, answers, parse_mode)
    judgments, judge_stats = verdicts(tasks, judge_answering, cfg, templates, cache_dir / "judge.jsonl", log)
    return checks, judgments, {"answers": answer_stats, "judge": judge_stats}
