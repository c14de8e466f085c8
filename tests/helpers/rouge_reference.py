"""The reference scorers, called through their own libraries, and the study's quadratic loop.

Only tests and benchmarks use this module: `curate` uses the exact fast scorers in
`rouge_exact` / `near_dup`, which must take the same decisions.
"""

import sys

from rouge import Rouge
from rouge_score.rouge_scorer import RougeScorer

_ROUGE = Rouge(metrics=["rouge-l"])
_ROUGE_SCORE = RougeScorer(["rougeL"], use_stemmer=False)


def rouge_package_f(kept, candidate):
    """`Rouge().get_scores(kept, candidate)[0]['rouge-l']['f']`; 0.0 where the package raises.

    The package raises ValueError on a text without any sentence and recurses once per word of
    the longest sentence, so long sentences need a deeper recursion limit.
    """
    needed = 4 * max(len(kept.split()), len(candidate.split())) + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)
    try:
        return _ROUGE.get_scores(kept, candidate)[0]["rouge-l"]["f"]
    except ValueError:
        return 0.0


def rouge_score_f(kept, candidate):
    """rouge-score's ROUGE-L F as Self-Instruct calls it (target = new task, prediction = kept)."""
    return _ROUGE_SCORE.score(candidate, kept)["rougeL"].fmeasure


REFERENCE = {"rouge": rouge_package_f, "rouge-score": rouge_score_f}


def study_loop(texts, threshold, scorer="rouge"):
    """The study's greedy dedup: score each text against every kept one, in order.

    Returns a list with, per text, None (kept) or (index of the first kept match, score).
    """
    score = REFERENCE[scorer]
    kept, decisions = [], []
    for text in texts:
        hit = None
        for index in kept:
            s = score(texts[index], text)
            if s > threshold:
                hit = (index, s)
                break
        decisions.append(hit)
        if hit is None:
            kept.append(len(decisions) - 1)
    return decisions
