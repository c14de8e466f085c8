"""ROUGE-L as the study computed it: the `rouge` package's rouge-l F between two texts.

A later stage replaces the pairwise loop with an exact, faster scorer; this module is the
reference behaviour it must reproduce.
"""

import sys

from rouge import Rouge

_ROUGE = Rouge(metrics=["rouge-l"])


def rouge_l_f(kept, candidate):
    """`Rouge().get_scores(kept, candidate)[0]['rouge-l']['f']`; 0.0 where the package cannot score.

    The package raises on texts without words and recurses once per word, so very long
    texts need a deeper recursion limit.
    """
    if not kept.strip(" .") or not candidate.strip(" ."):
        return 0.0
    needed = 4 * max(len(kept.split()), len(candidate.split())) + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)
    try:
        return _ROUGE.get_scores(kept, candidate)[0]["rouge-l"]["f"]
    except ValueError:
        return 0.0


def best_match(candidate, pool, threshold):
    """First text in `pool` ((id, text) pairs) scoring strictly above `threshold`, else None."""
    for other_id, text in pool:
        score = rouge_l_f(text, candidate)
        if score > threshold:
            return other_id, score
    return None
