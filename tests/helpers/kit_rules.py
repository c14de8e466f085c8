"""The KDD Cup 2024 starter kit's parsing and scoring rules, restated independently for tests.

Written from the kit's behaviour as documented in its parsers.py, metrics.py and
local_evaluation.py, in a deliberately different style from src/shoplora/evaluation, so
that a test comparing the two can catch a slip in either.
"""

import ast
import math

CUT = 5000


def _int_or_none(text):
    try:
        return int(text)
    except ValueError:
        return None


def _items(response):
    # Characters the kit keeps: str.isnumeric() ones, commas and spaces.
    kept = "".join(c for c in response if c.isnumeric() or c == "," or c == " ")
    return [v for v in map(_int_or_none, kept.split(",")) if v is not None]


def parse(task_type, response):
    response = response[:CUT]
    if task_type in ("multiple-choice", "classification"):
        stripped = response.strip()
        if not stripped:
            return -1
        value = _int_or_none(stripped[0])
        return -1 if value is None else value
    if task_type == "ranking":
        items = [v for v in _items(response) if v <= 5][:5]
        return items if len(items) == len(set(items)) else []
    if task_type == "retrieval":
        return _items(response)[:3]
    if task_type == "named_entity_recognition":
        try:
            literal = ast.literal_eval(response)
        except Exception:  # noqa: BLE001 - the kit catches everything here
            literal = None
        if isinstance(literal, list) and all(isinstance(x, str) for x in literal):
            return literal
        return [part.strip() for part in response.split(",") if part.strip() != ""]
    return response.strip()


def row_score(metric, answer, truth):
    """A row's score; for micro f1 the (tp, fp, fn) counts."""
    if metric == "accuracy":
        return float(answer == truth)
    if metric == "hit rate@3":
        return len(set(truth).intersection(answer[:3])) / len(truth)
    if metric == "ndcg":
        weights = list(truth)
        ranked = answer[: len(weights)] if len(answer) > len(weights) else answer
        dcg = 0.0
        for position, item in enumerate(ranked, start=1):
            relevance = weights[item - 1] if item - 1 < len(weights) else 0
            dcg += (2**relevance - 1) / math.log2(position + 1)
        ideal = sorted(weights, reverse=True)
        idcg = sum((2**r - 1) / math.log2(p + 1) for p, r in enumerate(ideal, start=1))
        return dcg / idcg if idcg else 0.0
    if metric == "micro f1":
        said = {a.lower().lstrip(" ").rstrip(" ") for a in answer}
        true = {t.lower() for t in truth}
        hits = len(said & true)
        return hits, len(answer) - hits, len(truth) - hits
    raise KeyError(metric)


def pooled_f1(counts):
    tp = sum(c[0] for c in counts)
    fp = sum(c[1] for c in counts)
    fn = sum(c[2] for c in counts)
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def overall(rows):
    """rows: (task_name, metric, score or counts) in file order -> the kit's overall score."""
    tasks = {}
    for name, metric, score in rows:
        tasks.setdefault(name, {"metric": metric, "scores": []})["scores"].append(score)
    values = []
    for task in tasks.values():
        scores = task["scores"]
        if task["metric"] == "micro f1":
            values.append(pooled_f1(scores))
        else:
            values.append(sum(scores) / len(scores))
    return sum(values) / len(values)
