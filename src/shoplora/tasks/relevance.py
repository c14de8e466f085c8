"""A ranking task's truth: an order of the candidates, or their relevance weights.

Official ShopBench files give a ranking's `output_field` as relevance weights, one per
candidate in prompt order (`[1, 0.01, 0.1, 1, 0]`: the kit's NDCG reads `weights[item - 1]`).
shoplora's own tasks give the order itself, the candidate numbers best first (`[2, 5, 3, 1,
4]`), which is also what a model answers. A truth is read as an order when it holds whole
numbers from 1 up without repeats; anything else is weights. ShopBench weights lie in [0, 1],
so an official truth is never read as an order (a lone `[1]` means the same either way);
integer weights without 0 or repeats (graded 3, 1, 2) must be written as decimals (3.0, 1.0,
2.0) to be read as weights.
"""

import math


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_order(truth):
    """Whether a ranking truth lists candidate numbers best first (validity checks that it
    lists every candidate once)."""
    return (
        isinstance(truth, list)
        and bool(truth)
        and all(_is_whole(v) and v >= 1 for v in truth)
        and len(set(truth)) == len(truth)
    )


def order_of(truth):
    """The answer a perfect model gives: the order itself, or the candidates sorted by weight,
    highest first, ties in candidate order (the kit's NDCG scores it 1.0)."""
    if is_order(truth):
        return list(truth)
    return sorted(range(1, len(truth) + 1), key=lambda item: -truth[item - 1])


def weights_of(truth):
    """Relevance weights, as the kit's NDCG reads them. An order of n candidates becomes graded
    relevance: the first n, the next n - 1, ..., the last 1 (any left out 0), so the order
    itself scores 1.0."""
    if not is_order(truth):
        return truth  # weights as they are (or a malformed truth, for the metric to refuse)
    weights = [0] * max(truth)
    for position, item in enumerate(truth):
        weights[item - 1] = len(truth) - position
    return weights


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Why a ranking truth cannot be used, by drop reason (the words name what is really wrong).
PROBLEMS = {
    "invalid:ranking_not_a_permutation": (
        "an order must list every candidate number once (relevance weights that are whole numbers are "
        "written as decimals, e.g. 2.0)"
    ),
    "invalid:negative_weight": "a relevance weight is negative",
    "invalid:weights_not_one_per_candidate": "relevance weights must be one per candidate listed in the prompt",
    "invalid:no_relevant_candidate": "every relevance weight is 0, so no ranking can score (NDCG is undefined)",
}


def truth_problem(truth, options):
    """The drop reason of a ranking truth given the prompt's candidate numbers, or None."""
    if not truth:
        return "invalid:no_relevant_candidate"
    if is_order(truth):
        return "invalid:ranking_not_a_permutation" if options and sorted(truth) != sorted(options) else None
    if any(w < 0 for w in truth):
        return "invalid:negative_weight"
    if options and len(truth) != len(options):
        return "invalid:weights_not_one_per_candidate"
    if not any(w > 0 for w in truth):
        return "invalid:no_relevant_candidate"
    return None
