import math

import numpy as np
import pytest

from shoplora.evaluation.table import summary_table
from shoplora.evaluation.uncertainty import interval, paired_bootstrap, task_resamples

from helpers.scores import scored


def rows_of(scores, metric="accuracy"):
    return [
        {"id": str(i), "task_name": "t", "metric": metric, "score": s, "counts": None} for i, s in enumerate(scores)
    ]


def test_bootstrap_of_a_zero_one_mean_matches_the_closed_form():
    n, hits = 400, 120  # p = 0.3
    scores = [1.0] * hits + [0.0] * (n - hits)
    base, _ = task_resamples(rows_of(scores), rows_of(scores), "accuracy", 20_000, np.random.default_rng(1))
    p = hits / n
    standard_error = math.sqrt(p * (1 - p) / n)
    assert base.mean() == pytest.approx(p, abs=0.002)
    assert base.std() == pytest.approx(standard_error, rel=0.05)
    low, high = interval(base, 0.95)
    assert low == pytest.approx(p - 1.96 * standard_error, abs=0.006)
    assert high == pytest.approx(p + 1.96 * standard_error, abs=0.006)


def test_same_seed_same_intervals_and_pairing_cancels_shared_noise():
    rng_scores = np.random.default_rng(5).random(50).tolist()
    tasks = {"t": ("rougel", rows_of(rng_scores), rows_of(rng_scores))}
    a, b, c = (paired_bootstrap(tasks, 2000, seed) for seed in (7, 7, 8))
    assert np.array_equal(a["t"][0], b["t"][0]) and not np.array_equal(a["t"][0], c["t"][0])
    delta = a["t"][1] - a["t"][0]
    assert np.all(delta == 0)  # the same examples are drawn for both models


def test_pooled_micro_f1_is_resampled_as_pooled():
    # One row with many true positives and several rows with none: the pooled F1 is high,
    # the mean of per-row F1 is low.
    counts = [(20, 0, 0)] + [(0, 1, 1)] * 9
    rows = [
        {"id": str(i), "task_name": "t", "metric": "micro f1", "score": None, "counts": c} for i, c in enumerate(counts)
    ]
    base, _ = task_resamples(rows, rows, "micro f1", 5000, np.random.default_rng(0))
    pooled = 2 * 20 / (2 * 20 + 9 + 9)
    assert abs(np.median(base) - pooled) < abs(np.median(base) - 0.1)
    assert np.isclose(base, 0).sum() > 0  # resamples without the big row pool to 0, as they should


def test_table_rows_carry_intervals_and_mark_a_clear_difference():
    base = [0.0] * 60 + [1.0] * 20
    better = [1.0] * 70 + [0.0] * 10
    noise = [float(i % 2) for i in range(80)]
    table = summary_table(
        [
            scored("base", "clear", base),
            scored("finetuned", "clear", better),
            scored("base", "same", noise),
            scored("finetuned", "same", noise[::-1]),
        ],
        resamples=2000,
        seed=0,
    )
    by_name = {r["task_name"] or r["level"]: r for r in table.to_dict("records")}
    clear, same, overall = by_name["clear"], by_name["same"], by_name["overall"]
    assert clear["significant"] and clear["delta_ci_low"] > 0
    assert not same["significant"] and same["delta_ci_low"] < 0 < same["delta_ci_high"]
    for r in (clear, same, overall):
        assert r["base_ci_low"] <= r["base"] <= r["base_ci_high"]
        assert r["finetuned_ci_low"] <= r["finetuned"] <= r["finetuned_ci_high"]
    assert overall["base"] == pytest.approx((0.25 + 0.5) / 2)


def test_pairing_needs_the_same_examples():
    with pytest.raises(ValueError, match="not for the same examples"):
        summary_table([scored("base", "t", [1.0, 0.0]), scored("finetuned", "t", [1.0])], resamples=10)
