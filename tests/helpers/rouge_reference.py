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


def dice_scan(texts, threshold, scorer):
    """The greedy dedup with every kept text checked, sped up only by a sparse overlap count.

    Same decisions as `study_loop` (the Dice coefficient of the scorer's signatures bounds its
    score from above), fast enough for tens of thousands of texts, and independent of the
    index's filters, which it exists to check. `scorer` is a fast scorer (`make_scorer`).
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    parsed = [scorer.parse(text) for text in texts]
    ids, rows, cols = {}, [], []
    for row, p in enumerate(parsed):
        for token in scorer.signature(p) if p is not None else ():
            rows.append(row)
            cols.append(ids.setdefault(token, len(ids)))
    signatures = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), len(ids) + 1))
    sizes = np.diff(signatures.indptr)
    is_kept = np.zeros(len(texts), dtype=bool)
    decisions = []
    block = 256
    for start in range(0, len(texts), block):
        # Overlaps of this block with every earlier text, kept or not: one sparse product.
        overlaps = (signatures[start : start + block] @ signatures[: start + block].T).tocsr()
        for i in range(start, min(start + block, len(texts))):
            hit = None
            row = overlaps[i - start]
            earlier = (row.indices < i) & is_kept[row.indices] & (row.data > 0)
            others, overlap = row.indices[earlier], row.data[earlier]
            dice = 2 * overlap / (sizes[others] + sizes[i])
            for index in np.sort(others[dice >= threshold - 1e-9]).tolist():
                score = scorer.score(parsed[index], parsed[i])
                if score > threshold:
                    hit = (index, score)
                    break
            decisions.append(hit)
            is_kept[i] = hit is None and parsed[i] is not None
    return decisions
