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
# The exact stage of `overlapping_many` runs once this many positions have passed the first
# bound (about 150 bytes each while it runs).
_BATCH_POSITIONS = 200_000


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


class _Batch:
    """Several candidates' sizes and bits as arrays, shaped as one Entry's (None: zeros; such a
    candidate has no positions, so its values are never read)."""

    def __init__(self, entries):
        blank = np.zeros(_WORDS, dtype="<u8")
        self.size = np.array([e.size if e else 0 for e in entries], dtype=np.int64)
        self.frequent = np.array([e.frequent if e else 0 for e in entries], dtype=np.int64)
        self.tail = np.array([e.tail if e else 0 for e in entries], dtype=np.int64)
        self.bits = np.stack([e.bits if e else blank for e in entries])


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
        """Kept positions whose R overlap plus min(|F_a|, |F_b|) can pass, and the bound's sum there."""
        kept = self.count
        self._fit_size(candidate.size)
        # 2 * (R overlap + min(|F_a|, |F_b|)) - floor(t |b|) >= floor(t |a|), for every kept b.
        # Column minus scalar, then a minimum of two columns: numpy's minimum against a scalar
        # is several times slower than against an array.
        lhs = self.work[:kept]
        np.subtract(2 * candidate.frequent, self.floor_share[:kept], out=lhs)
        np.minimum(lhs, self.surplus[:kept], out=lhs)
        lists = list(filter(None, map(self.postings.get, candidate.rest)))
        if lists:  # + 2 per shared R token: a signature's tokens are distinct, so no list repeats one
            np.add.at(lhs, np.frombuffer(b"".join(lists), dtype=np.int32), lhs.dtype.type(2))
        positions = np.flatnonzero(lhs >= _floor_share(self.threshold, candidate.size))
        return positions, lhs[positions]

    def _exact_overlaps(self, positions, sums, candidate, owner=None):
        """Which of the positions that passed the first bound pass the exact overlap too.

        sums: the first bound's sums at the positions. `candidate` is an Entry, or _Batch of
        several with `owner` naming each position's candidate. Returns the positions, their
        exact token overlap, and (for a batch) their owners, all in the order given.
        """
        t = self.threshold

        def per_position(values):  # the candidate's value, or each position's candidate's
            return values if owner is None else np.take(values, owner, axis=0)

        # The R overlap: subtract the F part of the first bound again, recomputed in int64.
        twice = sums.astype(np.int64) - np.minimum(
            2 * per_position(candidate.frequent) - self.floor_share[positions], self.surplus[positions]
        )
        needed = t * (per_position(candidate.size) + self.sizes[positions]) - 2 * _EPS  # compared with 2 * overlap
        # Then the head of the bits counted with the tail all shared, then the tail counted too.
        # np.take, not fancy indexing: on rows of a 2-d array it is several times faster.
        twice += 2 * _popcount(np.take(self.head_bits, positions, axis=0), per_position(candidate.bits[..., :_HEAD]))
        bound = twice + 2 * np.minimum(self.tails[positions], per_position(candidate.tail))
        keep = (bound >= needed) & (bound > 0)
        positions, twice, needed = positions[keep], twice[keep], needed[keep]
        owner = None if owner is None else owner[keep]
        twice += 2 * _popcount(np.take(self.tail_bits, positions, axis=0), per_position(candidate.bits[..., _HEAD:]))
        keep = (twice >= needed) & (twice > 0)
        return positions[keep], twice[keep] // 2, None if owner is None else owner[keep]

    def overlapping(self, candidate):
        """Kept positions every bound lets through, in kept order, and their exact token overlap."""
        positions, overlap, _ = self._exact_overlaps(*self._passing_rare_bound(candidate), candidate)
        return positions, overlap

    def overlapping_many(self, candidates):
        """`overlapping` for each of the candidates (None: none pass), flattened.

        Returns positions, overlaps and each candidate's count, in candidate order. The first
        bound is per candidate; the exact stage runs on many candidates' positions at once,
        since its cost on a candidate's few hundred positions is mostly numpy's per-call cost.
        """
        positions, overlaps, counts = [], [], []
        batch, passed, sums, pending = [], [], [], 0

        def flush():
            owner = np.repeat(np.arange(len(batch)), [len(p) for p in passed])
            found, overlap, owner = self._exact_overlaps(
                np.concatenate(passed), np.concatenate(sums), _Batch(batch), owner
            )
            positions.append(found)
            overlaps.append(overlap)
            counts.append(np.bincount(owner, minlength=len(batch)))

        for candidate in candidates:
            if candidate is None or not self.count:
                found = np.zeros(0, dtype=np.int64)
                batch.append(None)
                passed.append(found)
                sums.append(found)
                continue
            found, at = self._passing_rare_bound(candidate)
            batch.append(candidate)
            passed.append(found)
            sums.append(at)
            pending += len(found)
            if pending >= _BATCH_POSITIONS:
                flush()
                batch, passed, sums, pending = [], [], [], 0
        if batch:
            flush()
        empty = np.zeros(0, dtype=np.int64)
        return (
            np.concatenate(positions) if positions else empty,
            np.concatenate(overlaps) if overlaps else empty,
            np.concatenate(counts) if counts else empty,
        )

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
