"""curate_sft: null/validity filtering, exact dedup, decontamination and ROUGE-L near-dedup."""

import re
import sys
from collections import Counter

from .accounting import DropLog
from .rouge_l import best_match
from .tasks import invalid_reason

_SPACE = re.compile(r"\s+")


def normalised(text):
    return _SPACE.sub(" ", str(text)).strip().lower()


def curate(task_lists, eval_tasks, cfg, progress=sys.stderr):
    """Keep tasks in greedy order (seeds, then sources in config order, then request order).

    Returns (kept tasks, drop frame, report dict).
    """
    field = cfg.get("compare_field", "input_field")
    threshold = cfg["near_duplicate_threshold"]
    check_contamination = cfg.get("decontaminate", True)
    drops = DropLog()
    kept, kept_pool, seen = [], [], {}
    rows_in, rows_kept = Counter(), Counter()
    contaminated = Counter()
    eval_pool = [(t["id"], str(t[field])) for t in eval_tasks]
    eval_type = {t["id"]: t["task_type"] for t in eval_tasks}
    ordered = [t for tasks in task_lists for t in tasks]
    for n, task in enumerate(ordered, start=1):
        source = task["source"]
        rows_in[source] += 1
        reason = invalid_reason(task)
        if reason:
            drops.drop(task.get("id"), source, reason)
            continue
        key = normalised(task[field])
        if key in seen:
            drops.drop(task["id"], source, "exact_duplicate", duplicate_of=seen[key])
            continue
        text = str(task[field])
        if check_contamination:
            hit = best_match(text, eval_pool, threshold)
            if hit:
                drops.drop(task["id"], source, "contaminated", duplicate_of=hit[0], score=hit[1])
                contaminated[eval_type[hit[0]]] += 1
                continue
        hit = best_match(text, kept_pool, threshold)
        if hit:
            drops.drop(task["id"], source, "near_duplicate", duplicate_of=hit[0], score=hit[1])
            continue
        seen[key] = task["id"]
        kept.append(task)
        kept_pool.append((task["id"], text))
        rows_kept[source] += 1
        if n % 25 == 0:
            print(f"curate: {n}/{len(ordered)} checked, {len(kept)} kept", file=progress, flush=True)
    report = drops.summary(dict(rows_in), dict(rows_kept))
    report["contaminated_by_eval_task_type"] = dict(sorted(contaminated.items()))
    report["threshold"] = threshold
    report["compare_field"] = field
    return kept, drops.frame(), report

