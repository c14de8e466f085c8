"""Paired bootstrap confidence intervals for the metrics table.

Each resample draws, within every task, the same examples (with replacement) for the base and
the fine-tuned model, and recomputes each task's score as the kit aggregates it: the mean of
the row scores, or micro-F1 pooled over the resampled rows' counts (a pooled metric is
resampled as pooled, not as a mean of per-row F1). Task-type and overall scores are means over
task scores, as in the table, computed per resample. Intervals are percentile intervals.
"""

import numpy as np

from shoplora.tasks.types import POOLED_METRIC as POOLED


def _task_statistic(rows, metric):
    """Per-row arrays for one model's task: scores, or (tp, fp, fn) counts for a pooled metric."""
    if metric == POOLED:
        return np.array([r["counts"] if r["counts"] is not None else (0, 0, 0) for r in rows], dtype=float)
    return np.array([r["score"] for r in rows], dtype=float)


def _resampled(values, metric, indices):
    """The task score for each row of `indices` (resamples x n)."""
    if metric != POOLED:
        return values[indices].mean(axis=1)
    tp, fp, fn = (values[:, k][indices].sum(axis=1) for k in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return f1


def task_resamples(base_rows, finetuned_rows, metric, resamples, rng, chunk=500):
    """(base scores, fine-tuned scores), one per resample, with the examples paired by position."""
    if len(base_rows) != len(finetuned_rows):
        raise ValueError(f"cannot pair {len(base_rows)} base rows with {len(finetuned_rows)} fine-tuned rows")
    base, finetuned = _task_statistic(base_rows, metric), _task_statistic(finetuned_rows, metric)
    n = len(base_rows)
    out_base, out_ft = np.empty(resamples), np.empty(resamples)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        indices = rng.integers(0, n, size=(size, n))
        out_base[start : start + size] = _resampled(base, metric, indices)
        out_ft[start : start + size] = _resampled(finetuned, metric, indices)
    return out_base, out_ft


def interval(samples, confidence):
    tail = (1 - confidence) / 2
    low, high = np.quantile(samples, [tail, 1 - tail])
    return float(low), float(high)


def paired_bootstrap(tasks, resamples, seed):
    """{task_name: (base samples, fine-tuned samples)} for `tasks`: {name: (metric, base rows, ft rows)}.

    Tasks are drawn in sorted order from one seeded generator, so the result depends only on
    the data, the seed and the number of resamples.
    """
    rng = np.random.default_rng(seed)
    return {
        name: task_resamples(base, ft, metric, resamples, rng) for name, (metric, base, ft) in sorted(tasks.items())
    }
