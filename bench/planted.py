"""Corpus texts with planted near-copies of a known Jaccard similarity (word 5-gram shingles)."""

import random

from amazon_shaped import WORDS, product


def _shingle_set(words, ngram):
    return {" ".join(words[i : i + ngram]) for i in range(max(1, len(words) - ngram + 1))}


def jaccard(a, b, ngram=5):
    sa, sb = _shingle_set(a.lower().split(), ngram), _shingle_set(b.lower().split(), ngram)
    return len(sa & sb) / len(sa | sb)


def near_copy(text, rng, target=0.9, ngram=5):
    """`text` with its last k words replaced by words it does not contain, k chosen so that the
    shingle sets' Jaccard similarity is as close to `target` as whole words allow."""
    words = text.split()
    shingle_count = max(1, len(words) - ngram + 1)
    # Replacing the last k words changes the last k shingles: J = (S - k) / (S + k).
    k = max(1, round(shingle_count * (1 - target) / (1 + target)))
    fresh = [f"{rng.choice(WORDS)}{rng.randint(10**6, 10**7)}" for _ in range(k)]
    return " ".join(words[:-k] + fresh)


def corpus(n, copies, seed=0):
    """(texts, planted) with n texts in all: n - copies originals and `copies` near-copies placed
    after their original; planted: [(original index, copy index, true Jaccard)]."""
    rng = random.Random(seed)
    originals = []
    while len(originals) < n - copies:
        p = product(rng, len(originals))
        text = f"{p['title']}. {' '.join(p['features'])} {' '.join(p['description'])}"
        if len(text.split()) >= 40:  # long enough for a 0.9 near-copy to exist
            originals.append(text)
    chosen = sorted(rng.sample(range(len(originals)), copies))
    texts, planted, pick = [], [], set(chosen)
    for i, text in enumerate(originals):
        texts.append(text)
        if i in pick:
            copy = near_copy(text, rng)
            planted.append((len(texts) - 1, len(texts), jaccard(text, copy)))
            texts.append(copy)
    return texts, planted
