"""Bootstrap confidence intervals: paired for the metrics table, one model's for the sweep.

Each resample draws, within every task, the same examples (with replacement) for the base and
the fine-tuned model, and recomputes each task's score as the kit aggregates it: the mean of
the row scores, or micro-F1 pooled over the resampled rows' counts (a pooled metric is
resampled as pooled, not as a mean of per-row F1). Task-type and overall scores are means over
task scores, as in the table, computed per resample. Intervals are percentile intervals.
The checkpoint sweep draws the same way for one model at a time (`bootstrap`).
"""

import numpy as np

from shoplora.tasks.types import POOLED_METRIC


def _task_statistic(rows, metric):
    """Per-row arrays for one model's task: scores, or (tp, fp, fn) counts for a pooled metric."""
    if metric == POOLED_METRIC:
        return np.array([r["counts"] if r["counts"] is not None else (0, 0, 0) for r in rows], dtype=float)
    return np.array([r["score"] for r in rows], dtype=float)


def _resampled(values, metric, indices):
    """The task score for each row of `indices` (resamples x n)."""
    if metric != POOLED_METRIC:
        return values[indices].mean(axis=1)
    tp, fp, fn = (values[:, k][indices].sum(axis=1) for k in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(tp > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return f1


def _draw(statistics, metric, resamples, rng, chunk=500):
    """One task score per resample for each array of `statistics`, all resampled with the same
    row indices (the pairing)."""
    n = len(statistics[0])
    out = [np.empty(resamples) for _ in statistics]
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        indices = rng.integers(0, n, size=(size, n))
        for values, samples in zip(statistics, out):
            samples[start : start + size] = _resampled(values, metric, indices)
    return out


def task_resamples(base_rows, finetuned_rows, metric, resamples, rng, chunk=500):
    """(base scores, fine-tuned scores), one per resample, with the examples paired by position."""
    if len(base_rows) != len(finetuned_rows):
        raise ValueError(f"cannot pair {len(base_rows)} base rows with {len(finetuned_rows)} fine-tuned rows")
    base, finetuned = _task_statistic(base_rows, metric), _task_statistic(finetuned_rows, metric)
    out_base, out_ft = _draw([base, finetuned], metric, resamples, rng, chunk)
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


def bootstrap(tasks, resamples, seed):
    """{task_name: samples} for one model's `tasks`: {name: (metric, rows)}, drawn as
    paired_bootstrap draws them (tasks in sorted order from one seeded generator)."""
    rng = np.random.default_rng(seed)
    return {
        name: _draw([_task_statistic(rows, metric)], metric, resamples, rng)[0]
        for name, (metric, rows) in sorted(tasks.items())
    }
