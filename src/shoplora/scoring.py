"""evaluate: parse responses and score one eval set, per task name and overall."""

from collections import defaultdict

from .answers import parse
from .metrics import score_task


def score_predictions(predictions, parse_mode, sentence_model_paths=None):
    """Scores per task name (mean, or pooled micro-F1) and their macro-average."""
    groups = defaultdict(list)
    for p in predictions:
        groups[(p["task_name"], p["metric"])].append(p)
    per_task, failures = [], 0
    for (task_name, metric), rows in sorted(groups.items()):
        parsed = [parse(r["task_type"], r["response"], parse_mode) for r in rows]
        failures += sum(failed for _, failed in parsed)
        score, _ = score_task(metric, [v for v, _ in parsed], [r["output_field"] for r in rows],
                              sentence_model_paths)
        per_task.append({"task_name": task_name, "metric": metric, "n": len(rows), "score": score,
                         "parse_failures": sum(failed for _, failed in parsed)})
    n = len(predictions)
    metrics = sorted({t["metric"] for t in per_task})
    return {"score": sum(t["score"] for t in per_task) / len(per_task) if per_task else 0.0,
            "metric": "/".join(metrics), "n": n, "parse_mode": parse_mode,
            "parse_failure_rate": failures / n if n else 0.0, "per_task": per_task}
