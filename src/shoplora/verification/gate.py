"""The gate's decision per task: the checks' verdicts, a reviewer's verdict, and the mode
(`drop` removes a task that fails a check, `flag` keeps it and records why it would go)."""

from collections import Counter

from shoplora.io.accounting import DropLog, Tally

# The reasons a task fails the gate, in the order one is given as its drop reason.
ANSWER_DISAGREES = "answer_disagrees"
JUDGED_UNREASONABLE = "judged_unreasonable"
JUDGED_INCORRECT = "judged_incorrect"
JUDGED_LOW_SCORE = "judged_low_score"
HUMAN_REJECTED = "human_rejected"


def min_agreement(cfg, task_type):
    """The agreement a task of `task_type` needs: its own bar where one is set."""
    return cfg["min_agreement_by_type"].get(task_type, cfg["min_agreement"])


def gate_reasons(check, verdict, cfg):
    """Why the checks fail a task (empty: it passes). check: its agreement entry or None;
    verdict: the judge's verdict or None (no verdict is no objection)."""
    reasons = []
    if check and check["agreement"] is not None and check["agreement"] < min_agreement(cfg, check["task_type"]):
        reasons.append(ANSWER_DISAGREES)
    if verdict:
        if not verdict["reasonable"]:
            reasons.append(JUDGED_UNREASONABLE)
        if not verdict["answer_correct"]:
            reasons.append(JUDGED_INCORRECT)
        if verdict["score"] < cfg["min_score"]:
            reasons.append(JUDGED_LOW_SCORE)
    return reasons


def _gate(check, verdict, reasons):
    if reasons:
        return "fail"
    checked = (check and check["agreement"] is not None) or verdict
    return "pass" if checked else "unverified"


def decide(tasks, checks, judgments, human, cfg, source):
    """(kept tasks, drop records, verdict records, summary per task type).

    checks: task id -> agreement entry (agreement.agreements); judgments: task id -> (verdict
    or None, error or None); human: task id -> "ok" | "bad" from the reviewed sheet. A human
    verdict decides: `bad` drops the task (`human_rejected`), `ok` keeps it whatever the checks
    say. Otherwise `drop` mode drops a task that fails a check with its first reason. The
    summary's counts per type are checked: rows in = kept + dropped.
    """
    kept, drops, verdicts = [], DropLog(), []
    summary = {}
    for task in tasks:
        task_id, task_type = task["id"], task["task_type"]
        check = checks.get(task_id)
        verdict, judge_error = judgments.get(task_id, (None, None))
        reasons = gate_reasons(check, verdict, cfg)
        person = human.get(task_id)
        if person == "bad":
            decision, reason = "dropped", HUMAN_REJECTED
        elif person == "ok" or not reasons or cfg["mode"] == "flag":
            decision, reason = "kept", None
        else:
            decision, reason = "dropped", reasons[0]
        record = {
            "id": task_id,
            "task_type": task_type,
            "source": source,
            "agreement": check["agreement"] if check else None,
            "answers": check["answers"] if check else None,
            "answer_scores": check["scores"] if check else None,
            "answers_failed": check["failed"] if check else 0,
            "judge": verdict,
            "judge_error": judge_error,
            "gate": _gate(check, verdict, reasons),
            "gate_reasons": reasons,
            "human_verdict": person,
            "decision": decision,
            "reason": reason,
        }
        verdicts.append(record)
        entry = summary.setdefault(task_type, _empty_counts())
        _count(entry, record)
        if decision == "kept":
            kept.append(task)
        else:
            drops.drop(task_id, source, reason, detail=task_type)
    for task_type, entry in summary.items():
        Tally(entry["rows_in"], entry["kept"], entry["dropped_by_reason"]).check(f"verify {source} {task_type}")
        entry["dropped_by_reason"] = dict(sorted(entry["dropped_by_reason"].items()))
        entry["judge_failures"] = dict(sorted(entry["judge_failures"].items()))
    return kept, drops.records(), verdicts, summary


def _empty_counts():
    return {
        "rows_in": 0,
        "answer_checked": 0,
        "judged": 0,
        "unverified": 0,
        "failed_gate": 0,
        "flagged": 0,
        "kept": 0,
        "dropped_by_reason": Counter(),
        "human_rejected": 0,
        "human_kept": 0,
        "answer_requests_failed": 0,
        "judge_failures": Counter(),
    }


def _count(entry, record):
    entry["rows_in"] += 1
    entry["answer_checked"] += record["agreement"] is not None
    entry["judged"] += record["judge"] is not None
    entry["unverified"] += record["gate"] == "unverified"
    entry["answer_requests_failed"] += record["answers_failed"]
    if record["judge_error"]:
        entry["judge_failures"][record["judge_error"].split(":")[0]] += 1
    failed = record["gate"] == "fail"
    entry["failed_gate"] += failed
    if record["decision"] == "kept":
        entry["kept"] += 1
        # Flagged: failed a check and kept anyway (flag mode, or a reviewer's `ok`).
        entry["flagged"] += failed
        entry["human_kept"] += failed and record["human_verdict"] == "ok"
    else:
        entry["dropped_by_reason"][record["reason"]] += 1
        entry["human_rejected"] += record["reason"] == HUMAN_REJECTED
