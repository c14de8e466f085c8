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
overlap = |F_a & F_b| + |R_a & R_b| <= min(|F_a|, |F_b|) + |R_a & R_b|.

That bound is checked for the whole kept set at once, in integers:
2 * overlap >= floor(t |a|) + floor(t |b|) is implied by the Dice condition. Two vector
operations on int16 columns give min(2 |F_a| - floor(t |b|), 2 |F_b| - floor(t |b|)) for every
kept text, and one scatter-add of the candidate's posting lists adds 2 * |R_a & R_b| to it. About
a fifth of the kept set shares an R token with a typical candidate, and picking those out
first costs more than the arithmetic on all of them; under one percent passes. Those get
their F overlap exactly (AND + popcount on the bits, the most frequent words first), then
the scorer's own bound from the overlap, and only then an exact score. Kept texts are tried
in the order they were kept, so the reported match is the one a plain loop over the kept
list would report first.
"""

import math
from array import array
from collections import Counter
from itertools import chain, filterfalse

import numpy as np

# Slack for float rounding in the Dice bound: it may only ever let more pairs through.
_EPS = 1e-6
FREQUENT_TOKENS = 256
_WORDS = FREQUENT_TOKENS // 64
_HEAD = 2  # the 128 most frequent tokens, popcounted first to prune cheaply
# The bound's columns are int16, half the memory traffic of int32, while every size is below
# this: the bound lies within [-|b|, 2 * FREQUENT_TOKENS + 2 * |a|], so it cannot overflow.
_SMALL_SIZE = 10_000


class TokenOrder:
    """Which signature tokens are frequent enough to be bits, from every text the search sees."""

    def __init__(self, signatures, frequent=FREQUENT_TOKENS):
        freq = Counter(chain.from_iterable(signatures))
        top = sorted(freq, key=lambda token: (-freq[token], repr(token)))[:frequent]
        self.power = {token: 1 << b for b, token in enumerate(top)}  # token -> its bit's value

    def split(self, signature):
        """(bit mask as _WORDS little-endian uint64, tuple of the remaining tokens)."""
        power = self.power
        # Iterators in C: this runs once per task, a million times at scale. Tokens are
        # distinct, so the sum of their bits is their OR.
        mask = sum(map(power.__getitem__, filter(power.__contains__, signature)))
        rest = tuple(filterfalse(power.__contains__, signature))
        return np.frombuffer(mask.to_bytes(8 * _WORDS, "little"), dtype="<u8"), rest


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

    def signature_parts(self):
        """What another process needs to bound against this text: (mask bytes, rest, size)."""
        return self.bits.tobytes(), self.rest, self.size

    @classmethod
    def from_parts(cls, parts, key=None, parsed=None):
        bits, rest, size = parts
        return cls(key, parsed, np.frombuffer(bits, dtype="<u8"), rest, size)


def _floor_share(threshold, size):
    """floor(t * size), a hair low so float rounding can only let more pairs through."""
    return math.floor(threshold * size - 4 * _EPS)


class NearDuplicateIndex:
    """Kept texts: frequent-token bit masks, sizes and posting lists of the other tokens."""

    _COLUMNS = ("head_bits", "tail_bits", "sizes", "tails", "surplus", "floor_share", "work")
    _BOUND_COLUMNS = ("surplus", "floor_share", "work")  # int16 while sizes are small

    def __init__(self, scorer, threshold, order, scoring=True):
        self.scorer, self.threshold, self.order = scorer, threshold, order
        # An index that only bounds (a share of a split search) need not hold the entries.
        self.entries = [] if scoring else None
        self.count = 0
        self.head_bits = np.zeros((1024, _HEAD), dtype=np.uint64)
        self.tail_bits = np.zeros((1024, _WORDS - _HEAD), dtype=np.uint64)
        self.sizes = np.zeros(1024, dtype=np.int64)
        self.tails = np.zeros(1024, dtype=np.int64)
        self.surplus = np.zeros(1024, dtype=np.int16)  # 2 |F_b| - floor(t |b|)
        self.floor_share = np.zeros(1024, dtype=np.int16)  # floor(t |b|)
        # Scratch for the bound, reused: a fresh array per candidate costs page faults.
        self.work = np.zeros(1024, dtype=np.int16)
        self.postings = {}
        self.pairs_bounded = 0
        self.pairs_scored = 0

    def entry(self, key, parsed):
        """Prepare a parsed text (None = unscorable) for `first_match` and `add`."""
        if parsed is None:
            return None
        signature = self.scorer.signature(parsed)
        bits, rest = self.order.split(signature)
        return Entry(key, parsed, bits, rest, len(signature))

    def _fit_size(self, size):
        """Widen the bound's columns to int32 once a text is too large for int16 arithmetic."""
        if size >= _SMALL_SIZE and self.floor_share.dtype == np.int16:
            for name in self._BOUND_COLUMNS:
                setattr(self, name, getattr(self, name).astype(np.int32))

    def add(self, entry):
        if entry is None:
            return
        self._fit_size(entry.size)
        position = self.count
        if position == len(self.sizes):
            for name in self._COLUMNS:
                column = getattr(self, name)
                setattr(self, name, np.concatenate([column, np.zeros_like(column)]))
        if self.entries is not None:
            self.entries.append(entry)
        self.count += 1
        self.head_bits[position] = entry.bits[:_HEAD]
        self.tail_bits[position] = entry.bits[_HEAD:]
        self.sizes[position] = entry.size
        self.tails[position] = entry.tail
        self.floor_share[position] = _floor_share(self.threshold, entry.size)
        self.surplus[position] = 2 * entry.frequent - self.floor_share[position]
        postings = self.postings
        for token in entry.rest:
            hits = postings.get(token)
            if hits is None:
                hits = postings[token] = array("i")
            hits.append(position)

    def _passing_rare_bound(self, candidate):
        """Kept positions whose R overlap plus min(|F_a|, |F_b|) can pass, and that R overlap."""
        kept = self.count
        self._fit_size(candidate.size)
        # 2 * (R overlap + min(|F_a|, |F_b|)) - floor(t |b|) >= floor(t |a|), for every kept b.
        # Column minus scalar, then a minimum of two columns: numpy's minimum against a scalar
        # is several times slower than against an array.
        lhs = self.work[:kept]
        np.subtract(2 * candidate.frequent, self.floor_share[:kept], out=lhs)
        np.minimum(lhs, self.surplus[:kept], out=lhs)
        lists = [self.postings[t] for t in candidate.rest if t in self.postings]
        if lists:  # + 2 per shared R token: a signature's tokens are distinct, so no list repeats one
            np.add.at(lhs, np.frombuffer(b"".join(lists), dtype=np.int32), lhs.dtype.type(2))
        positions = np.flatnonzero(lhs >= _floor_share(self.threshold, candidate.size))
        # The R overlap of the few that pass: subtract their F part again, recomputed in int64.
        frequent_part = np.minimum(
            2 * candidate.frequent - self.floor_share[positions].astype(np.int64), self.surplus[positions]
        )
        return positions, (lhs[positions] - frequent_part) // 2

    def overlapping(self, candidate):
        """Kept positions every bound lets through, in kept order, and their exact token overlap."""
        t = self.threshold
        positions, overlap = self._passing_rare_bound(candidate)
        needed = t * (candidate.size + self.sizes[positions]) - 2 * _EPS  # compared with 2 * overlap
        # Then the head of the bits counted with the tail all shared, then the tail counted too.
        overlap += _popcount(self.head_bits[positions], candidate.bits[:_HEAD])
        bound = overlap + np.minimum(self.tails[positions], candidate.tail)
        keep = (2 * bound >= needed) & (bound > 0)
        positions, overlap, needed = positions[keep], overlap[keep], needed[keep]
        overlap += _popcount(self.tail_bits[positions], candidate.bits[_HEAD:])
        keep = (2 * overlap >= needed) & (overlap > 0)
        return positions[keep], overlap[keep]

    def first_match(self, candidate):
        """(key, score) of the earliest kept text scoring strictly above the threshold, or None."""
        if candidate is None or not self.count:
            return None
        positions, overlap = self.overlapping(candidate)
        return self.first_scoring(self.entries, positions.tolist(), overlap.tolist(), candidate)

    def first_scoring(self, entries, positions, overlaps, candidate):
        """(key, score) of the first of entries[positions] scoring above the threshold, or None.

        Positions must be in kept order, the order a plain loop tries them.
        """
        scorer, t = self.scorer, self.threshold
        for position, shared in zip(positions, overlaps):
            self.pairs_bounded += 1
            kept = entries[position]
            if scorer.upper_bound(kept.parsed, candidate.parsed, shared) <= t:
                continue
            self.pairs_scored += 1
            score = scorer.score(kept.parsed, candidate.parsed)
            if score > t:
                return kept.key, score
        return None
