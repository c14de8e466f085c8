"""evaluate: parse responses and score one eval set per task name.

An eval set may hold one task type (the shipped sets) or many (the KDD Cup
`development.json`); every row carries its own task_type, task_name and metric.
"""

from collections import defaultdict

from shoplora.evaluation.metrics import bleu, rouge_l, score_task
from shoplora.evaluation.parsers import parse

# The study also reported BLEU-4 and ROUGE-L for every generation task, whatever its metric.
STUDY_EXTRAS = {"generation": {"bleu4": bleu, "rougel": rouge_l}}


def score_predictions(predictions, parse_mode, sentence_model_paths=None):
    """{"per_task": [...], n, parse_mode, parse_failure_rate}, one entry per task name."""
    groups = defaultdict(list)
    for p in predictions:
        groups[(p["task_name"], p["metric"])].append(p)
    per_task, failures = [], 0
    for (task_name, metric), rows in sorted(groups.items()):
        task_types = {r["task_type"] for r in rows}
        if len(task_types) != 1:
            raise ValueError(f"task {task_name!r} has rows of several task types: {sorted(task_types)}")
        task_type = task_types.pop()
        parsed = [parse(task_type, r["response"], parse_mode) for r in rows]
        values = [v for v, _ in parsed]
        truths = [r["output_field"] for r in rows]
        task_failures = sum(failed for _, failed in parsed)
        failures += task_failures
        score, _ = score_task(metric, values, truths, sentence_model_paths)
        entry = {
            "task_name": task_name,
            "task_type": task_type,
            "metric": metric,
            "n": len(rows),
            "score": score,
            "parse_failures": task_failures,
        }
        extras = STUDY_EXTRAS.get(task_type, {})
        refs = [t if isinstance(t, str) else t[0] for t in truths] if extras else []
        for name, fn in extras.items():
            entry[name] = sum(fn(v, t) for v, t in zip(values, refs)) / len(rows)
        per_task.append(entry)
    n = len(predictions)
    return {"per_task": per_task, "n": n, "parse_mode": parse_mode, "parse_failure_rate": failures / n if n else 0.0}
