"""Greedy near-duplicate search with exact ROUGE-L, ruling pairs out in bulk first.

A candidate is a duplicate when its exact score against some kept text is strictly above the
threshold. Scoring every pair is quadratic and slow, so pairs are ruled out with a bound that
can never discard a true duplicate: both scorers' F is at most the Dice coefficient of their
token signatures, 2 * overlap / (|a| + |b|), so a duplicate needs
2 * overlap >= t * (|a| + |b|).

Prefix filtering (the usual set-similarity join) fails on generated tasks: they share long
instructions, so even the rarest half of a prompt's words is full of template words. Instead
the signature is split into the few hundred most frequent tokens F (bits in a few 64-bit
words) and the rest R (posting lists, short because those tokens are rarer), and
overlap = |F_a & F_b| + |R_a & R_b|. A kept text that passes the bound either

- shares an R token with the candidate: it is in the candidate's posting lists, or
- shares none: then 2 * |F_b| - t * |b| >= t * |a| (its "frequent-token surplus" is high),
  which few texts reach; kept texts are bucketed by that surplus so only those are scanned.

Both groups get their exact overlap (AND + popcount on the bits, counts from the postings),
then the scorer's own bound from the overlap, and only then an exact score. Kept texts are
tried in the order they were kept, so the reported match is the one a plain loop over the
kept list would report first.
"""

import math
from array import array
from collections import Counter

import numpy as np

# Slack for float rounding in the Dice bound: it may only ever let more pairs through.
_EPS = 1e-6
FREQUENT_TOKENS = 256
_WORDS = FREQUENT_TOKENS // 64
_HEAD = 2  # the 128 most frequent tokens, popcounted first to prune cheaply


class TokenOrder:
    """Which signature tokens are frequent enough to be bits, from every text the search sees."""

    def __init__(self, signatures, frequent=FREQUENT_TOKENS):
        freq = Counter(token for sig in signatures for token in sig)
        top = sorted(freq, key=lambda token: (-freq[token], repr(token)))[:frequent]
        self.bit = {token: b for b, token in enumerate(top)}

    def split(self, signature):
        """(bit mask as _WORDS uint64, tuple of the remaining tokens)."""
        mask = 0
        rest = []
        bit = self.bit
        for token in signature:
            b = bit.get(token)
            if b is None:
                rest.append(token)
            else:
                mask |= 1 << b
        words = [(mask >> (64 * k)) & 0xFFFFFFFFFFFFFFFF for k in range(_WORDS)]
        return np.array(words, dtype=np.uint64), tuple(rest)


def _popcount(rows, words):
    """Shared bits of each row with `words`, summed per row (small widths: no slow axis reduce)."""
    counts = np.bitwise_count(rows & words).astype(np.int64)
    total = counts[:, 0].copy()
    for k in range(1, counts.shape[1]):
        total += counts[:, k]
    return total


class Entry:
    __slots__ = ("key", "parsed", "bits", "rest", "size", "frequent", "tail")

    def __init__(self, key, parsed, bits, rest, size):
        self.key, self.parsed, self.bits, self.rest, self.size = key, parsed, bits, rest, size
        self.frequent = size - len(rest)
        self.tail = int(np.bitwise_count(bits[_HEAD:]).sum())  # frequent tokens past the head


class NearDuplicateIndex:
    """Kept texts: frequent-token bit masks, sizes, posting lists and surplus buckets."""

    def __init__(self, scorer, threshold, order):
        self.scorer, self.threshold, self.order = scorer, threshold, order
        self.entries = []
        self.head_bits = np.zeros((1024, _HEAD), dtype=np.uint64)
        self.tail_bits = np.zeros((1024, _WORDS - _HEAD), dtype=np.uint64)
        self.sizes = np.zeros(1024, dtype=np.int64)
        self.tails = np.zeros(1024, dtype=np.int64)
        self.frequents = np.zeros(1024, dtype=np.int64)
        self._seen = np.zeros(1024, dtype=bool)
        self.postings = {}
        self.surplus = {}  # floor(2 * |F| - t * size) -> positions, only where it can matter
        self.pairs_bounded = 0
        self.pairs_scored = 0

    def entry(self, key, parsed):
        """Prepare a parsed text (None = unscorable) for `first_match` and `add`."""
        if parsed is None:
            return None
        signature = self.scorer.signature(parsed)
        bits, rest = self.order.split(signature)
        return Entry(key, parsed, bits, rest, len(signature))

    def add(self, entry):
        if entry is None:
            return
        position = len(self.entries)
        if position == len(self.sizes):
            self.head_bits = np.concatenate([self.head_bits, np.zeros_like(self.head_bits)])
            self.tail_bits = np.concatenate([self.tail_bits, np.zeros_like(self.tail_bits)])
            self.sizes = np.concatenate([self.sizes, np.zeros_like(self.sizes)])
            self.tails = np.concatenate([self.tails, np.zeros_like(self.tails)])
            self.frequents = np.concatenate([self.frequents, np.zeros_like(self.frequents)])
            self._seen = np.concatenate([self._seen, np.zeros_like(self._seen)])
        self.entries.append(entry)
        self.head_bits[position] = entry.bits[:_HEAD]
        self.tail_bits[position] = entry.bits[_HEAD:]
        self.sizes[position] = entry.size
        self.tails[position] = entry.tail
        self.frequents[position] = entry.frequent
        postings = self.postings
        for token in entry.rest:
            hits = postings.get(token)
            if hits is None:
                hits = postings[token] = array("i")
            hits.append(position)
        surplus = 2 * entry.frequent - self.threshold * entry.size
        if surplus >= self.threshold - 4 * _EPS:  # the smallest candidate has size 1
            self.surplus.setdefault(math.floor(surplus), array("i")).append(position)

    def _shared_rare(self, candidate):
        """Kept positions sharing an R token with the candidate, and how many they share."""
        lists = [self.postings[t] for t in candidate.rest if t in self.postings]
        if not lists:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        hits = np.frombuffer(b"".join(lists), dtype=np.int32)
        if 8 * hits.size < len(self.entries):  # sorting few hits beats scanning every position
            return np.unique(hits.astype(np.int64), return_counts=True)
        counts = np.bincount(hits)
        positions = np.flatnonzero(counts)
        return positions, counts[positions]

    def _frequent_only(self, candidate):
        """Kept positions that could pass the bound on frequent tokens alone."""
        t = self.threshold
        surplus = 2 * candidate.frequent - t * candidate.size
        if surplus < t - 4 * _EPS:
            return np.empty(0, dtype=np.int64)
        low = math.floor(t * candidate.size - 4 * _EPS)
        lists = [hits for key, hits in self.surplus.items() if key >= low]
        if not lists:
            return np.empty(0, dtype=np.int64)
        positions = np.frombuffer(b"".join(lists), dtype=np.int32).astype(np.int64)
        fits = self.sizes[positions] * t <= surplus + 4 * _EPS
        return positions[fits]

    def first_match(self, candidate):
        """(key, score) of the earliest kept text scoring strictly above the threshold, or None."""
        if candidate is None or not self.entries:
            return None
        t = self.threshold
        rare_pos, rare_counts = self._shared_rare(candidate)
        frequent_only = self._frequent_only(candidate)
        if frequent_only.size and rare_pos.size:
            seen = self._seen
            seen[rare_pos] = True
            frequent_only = frequent_only[~seen[frequent_only]]
            seen[rare_pos] = False
        positions = np.concatenate([rare_pos, frequent_only])
        if positions.size == 0:
            return None
        overlap = np.concatenate([rare_counts, np.zeros(frequent_only.size, dtype=np.int64)])
        needed = t * (candidate.size + self.sizes[positions]) - 2 * _EPS  # compared with 2 * overlap
        # Bounds from cheapest to exact: frequent tokens all shared, then the head counted
        # with the tail all shared, then the tail counted too.
        bound = overlap + np.minimum(self.frequents[positions], candidate.frequent)
        keep = (2 * bound >= needed) & (bound > 0)
        positions, overlap, needed = positions[keep], overlap[keep], needed[keep]
        overlap += _popcount(self.head_bits[positions], candidate.bits[:_HEAD])
        bound = overlap + np.minimum(self.tails[positions], candidate.tail)
        keep = (2 * bound >= needed) & (bound > 0)
        positions, overlap, needed = positions[keep], overlap[keep], needed[keep]
        overlap += _popcount(self.tail_bits[positions], candidate.bits[_HEAD:])
        keep = (2 * overlap >= needed) & (overlap > 0)
        positions, overlap = positions[keep], overlap[keep]
        order = np.argsort(positions, kind="stable")
        scorer = self.scorer
        for position, shared in zip(positions[order].tolist(), overlap[order].tolist()):
            self.pairs_bounded += 1
            kept = self.entries[position]
            if scorer.upper_bound(kept.parsed, candidate.parsed, shared) <= t:
                continue
            self.pairs_scored += 1
            score = scorer.score(kept.parsed, candidate.parsed)
            if score > t:
                return kept.key, score
        return None
