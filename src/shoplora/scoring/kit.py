"""evaluate: parse responses and score them as the KDD Cup 2024 starter kit does.

Every row is scored with its own metric; rows are collected per `task_name`; a task is
aggregated by the metric of its *first* row (a plain mean, or micro-F1 pooled over the rows'
counts when that metric is micro f1); the overall score is the plain mean over task names.
A row whose parsing or scoring fails gets the kit's default answer (or a score of 0) and a
reason; one answer never stops the evaluation of a set.

In lenient mode a row's answer is read both ways and the one that scores higher is kept, so a
row's lenient score is never below its strict score.
"""

from collections import defaultdict

from shoplora.scoring.metrics import SIMPLE, bleu, micro_f1, rouge_l, sentence_scores, tp_fp_fn
from shoplora.scoring.parsers import parse_with_reason
from shoplora.tasks.types import POOLED_METRIC, spec

# The study's extra metrics (BLEU-4 and ROUGE-L for every generation task, whatever its
# metric); a task type's spec names the ones reported for it.
EXTRA_METRICS = {"bleu4": bleu, "rougel": rouge_l}
# What evaluate keeps of every row: enough to pair the models, resample and explain a score.
ROW_FIELDS = ("id", "task_name", "metric", "answer", "score", "counts", "failed", "reason")


def _error(err):
    return f"{type(err).__name__}: {err}"[:300]


def _metric_values(metric, answers, truths, sentence_model_paths):
    """[(value, counts or None, error or None)] for answers of one metric."""
    if not answers:  # e.g. no lenient reading differs: nothing to score, no model to load
        return []
    if metric == POOLED_METRIC:
        out = []
        for answer, truth in zip(answers, truths):
            try:
                counts = tp_fp_fn(answer, truth)
                out.append((micro_f1([counts]), counts, None))
            except Exception as err:  # noqa: BLE001 - an odd answer is scored as no answer
                counts = tp_fp_fn([], truth) if isinstance(truth, list) else (0, 0, 0)
                out.append((0.0, counts, _error(err)))
        return out
    if metric in ("sent-transformer", "multilingual-sent-transformer"):
        texts = [a if isinstance(a, str) else str(a) for a in answers]
        return [(value, None, None) for value in sentence_scores(metric, texts, truths, sentence_model_paths)]
    if metric not in SIMPLE:
        raise ValueError(f"unknown metric {metric!r}")
    out = []
    for answer, truth in zip(answers, truths):
        try:
            out.append((float(SIMPLE[metric](answer, truth)), None, None))
        except Exception as err:  # noqa: BLE001
            out.append((0.0, None, _error(err)))
    return out


def score_rows(predictions, parse_mode, sentence_model_paths=None):
    """One record per prediction: parsed answer, parse failure, metric value, counts, reason."""
    records = []
    for p in predictions:
        value, failed, reason = parse_with_reason(p["task_type"], p.get("response"), "strict")
        records.append({"answer": value, "failed": failed, "reason": reason})
    by_metric = defaultdict(list)
    for i, p in enumerate(predictions):
        by_metric[p["metric"]].append(i)
    for metric, idx in by_metric.items():
        # As the metric reads a truth: a ranking order as relevance weights (official ones as they are).
        truths = [spec(predictions[i]["task_type"]).metric_truth(predictions[i]["output_field"]) for i in idx]
        strict = _metric_values(metric, [records[i]["answer"] for i in idx], truths, sentence_model_paths)
        chosen = list(strict)
        if parse_mode == "lenient":
            lenient_parses = {
                k: parse_with_reason(predictions[i]["task_type"], predictions[i].get("response"), "lenient")
                for k, i in enumerate(idx)
            }
            # Only a reading that differs from the strict one can score differently: score those alone.
            differs = [k for k, (value, _, _) in lenient_parses.items() if value != records[idx[k]]["answer"]]
            lenient = _metric_values(
                metric, [lenient_parses[k][0] for k in differs], [truths[k] for k in differs], sentence_model_paths
            )
            for k, scored in zip(differs, lenient):
                if scored[0] > strict[k][0]:  # only ever take credit a human would give
                    value, failed, reason = lenient_parses[k]
                    records[idx[k]].update(answer=value, failed=failed, reason=reason)
                    chosen[k] = scored
        for i, (value, counts, error) in zip(idx, chosen):
            records[i].update(score=value, counts=counts)
            if error:
                records[i]["reason"] = f"metric error: {error}"
    for p, record in zip(predictions, records):
        record.update(id=p.get("id"), task_name=p["task_name"], task_type=p["task_type"], metric=p["metric"],
                      track=p.get("track"))  # fmt: skip
    return records


def aggregate(records):
    """{task_name: {task_type, metric, track, indices, score}} in order of first appearance, as
    the kit; a task's type, metric and track are those of its first row."""
    tasks = {}
    for i, r in enumerate(records):
        first = {"task_type": r["task_type"], "metric": r["metric"], "track": r.get("track"), "indices": []}
        task = tasks.setdefault(r["task_name"], first)
        task["indices"].append(i)
    for task in tasks.values():
        rows = [records[i] for i in task["indices"]]
        if task["metric"] == POOLED_METRIC:
            task["score"] = micro_f1([r["counts"] for r in rows if r["counts"] is not None])
        else:
            task["score"] = sum(r["score"] for r in rows) / len(rows)
    return tasks


def kit_overall(tasks):
    """The kit's overall score: the plain mean of the task scores."""
    return sum(t["score"] for t in tasks.values()) / len(tasks) if tasks else 0.0


def score_predictions(predictions, parse_mode, sentence_model_paths=None):
    """{"per_task": [...], "overall", "n", "parse_mode", "parse_failure_rate", "rows"}."""
    records = score_rows(predictions, parse_mode, sentence_model_paths)
    tasks = aggregate(records)
    per_task = []
    for name, task in tasks.items():
        rows = [records[i] for i in task["indices"]]
        entry = {
            "task_name": name,
            "task_type": task["task_type"],
            "metric": task["metric"],
            "n": len(rows),
            "score": task["score"],
            "parse_failures": sum(r["failed"] for r in rows),
        }
        if task["track"]:
            entry["track"] = task["track"]
        for extra in spec(task["task_type"]).study_extras:
            fn = EXTRA_METRICS[extra]
            values = []
            for i in task["indices"]:
                truth = predictions[i]["output_field"]
                try:
                    values.append(fn(str(records[i]["answer"]), truth if isinstance(truth, str) else truth[0]))
                except Exception:  # noqa: BLE001 - the study's extra columns never stop scoring
                    values.append(0.0)
            entry[extra] = sum(values) / len(values)
        per_task.append(entry)
    n = len(predictions)
    return {
        "per_task": per_task,
        "overall": kit_overall(tasks),
        "n": n,
        "parse_mode": parse_mode,
        "parse_failure_rate": sum(r["failed"] for r in records) / n if n else 0.0,
        "rows": [{k: r[k] for k in ROW_FIELDS} for r in records],
    }
