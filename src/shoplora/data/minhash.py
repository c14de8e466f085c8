"""build_pt_corpus: near-duplicate removal of corpus texts with MinHash and LSH (datasketch).

Shopping corpora repeat themselves: one listing under many sellers, templated descriptions
with a different colour. Each text becomes the set of its word n-grams (`ngram` words,
lowercased); a MinHash of `permutations` values estimates the Jaccard similarity of two such
sets, and datasketch's LSH (bands chosen for `threshold`) finds the kept texts that may be
that similar without comparing all pairs. A candidate is a duplicate when its estimated
Jaccard with an LSH match reaches the threshold; texts are taken in corpus order, so the
first of a group is kept and the drop record names it.
"""

import re
import sys
import time

import numpy as np

_WORD = re.compile(r"\w+")
# LSH bands weighted against missed pairs (datasketch's (false positive, false negative)
# weights): a false candidate costs one signature comparison, a missed one stays in the
# corpus. At threshold 0.8 this gives 14 bands of 9 rows: a pair at Jaccard 0.9 becomes a
# candidate with probability 0.999 (0.93 with equal weights).
LSH_WEIGHTS = (0.1, 0.9)


def shingles(text, ngram):
    """The text's word n-grams as bytes (a text shorter than n words is one shingle)."""
    words = _WORD.findall(text.lower())
    if len(words) <= ngram:
        return [" ".join(words).encode()]
    return [" ".join(words[i : i + ngram]).encode() for i in range(len(words) - ngram + 1)]


class NearDuplicateFinder:
    """Greedy MinHash-LSH near-duplicate search over texts added in order."""

    def __init__(self, ngram=5, permutations=128, threshold=0.8, seed=1, expected=1024):
        import xxhash
        from datasketch import MinHash, MinHashLSH

        self.ngram, self.threshold = ngram, threshold
        self._template = MinHash(num_perm=permutations, seed=seed, hashfunc=xxhash.xxh32_intdigest)
        # Band keys hashed to 64-bit integers (datasketch's `hashfunc`) rather than kept as bytes.
        self._lsh = MinHashLSH(
            threshold=threshold, num_perm=permutations, weights=LSH_WEIGHTS, hashfunc=xxhash.xxh64_intdigest
        )
        # Kept signatures, for the Jaccard estimate against LSH candidates (uint32: MinHash
        # values are below 2**32).
        self._signatures = np.empty((max(1, expected), permutations), dtype=np.uint32)
        self._keys = []

    def _minhash(self, text):
        m = self._template.copy()
        m.update_batch(shingles(text, self.ngram))
        return m

    def check_and_add(self, key, text):
        """(kept key, estimated Jaccard) of a kept near-duplicate, or None after keeping `text`."""
        m = self._minhash(text)
        candidates = self._lsh.query(m)
        if candidates:
            positions = np.array(sorted(candidates))
            similar = (self._signatures[positions] == m.hashvalues.astype(np.uint32)).mean(axis=1)
            over = np.flatnonzero(similar >= self.threshold)
            if over.size:  # the earliest kept text over the threshold
                return self._keys[positions[over[0]]], float(similar[over[0]])
        position = len(self._keys)
        if position == len(self._signatures):
            self._signatures = np.resize(self._signatures, (2 * position, self._signatures.shape[1]))
        self._signatures[position] = m.hashvalues
        self._keys.append(key)
        self._lsh.insert(position, m, check_duplication=False)
        return None


def near_duplicates(keys, texts, cfg, progress=sys.stderr):
    """{key: (kept key, estimated Jaccard)} for the texts that near-duplicate an earlier one."""
    finder = NearDuplicateFinder(cfg["ngram"], cfg["permutations"], cfg["threshold"], cfg["seed"], len(keys))
    found = {}
    started = time.perf_counter()
    step = max(1, len(keys) // 20)
    for n, (key, text) in enumerate(zip(keys, texts), start=1):
        hit = finder.check_and_add(key, text)
        if hit:
            found[key] = hit
        if n % step == 0:
            print(f"minhash: {n}/{len(keys)} texts, {len(found)} near-duplicates, "
                  f"{time.perf_counter() - started:.1f} s", file=progress, flush=True)  # fmt: skip
    return found
