"""Exact, fast re-implementations of two reference ROUGE-L scorers.

`RougePackageScorer` reproduces the `rouge` package 1.0.1:
`Rouge().get_scores(kept, candidate)[0]["rouge-l"]["f"]`. What that really computes:

- each text is split on "." into sentences, empty pieces skipped, inner whitespace collapsed;
  a sentence of only spaces becomes the empty word "" (the package keeps it);
- m and n are the numbers of *distinct* words of the candidate and the kept text;
- for every (candidate sentence, kept sentence) pair it walks back one LCS path with a fixed
  tie-break (on a mismatch go up only when the upper cell is strictly larger) and collects
  the *words* on it; the overlap is the number of distinct words in the union of all paths;
- F = 2 * ((p * r) / (p + r + 1e-8)) with p = overlap / n, r = overlap / m.

`RougeScoreScorer` reproduces `rouge_score.rouge_scorer.RougeScorer(["rougeL"])` without a
stemmer, called as Self-Instruct does: `score(target=candidate, prediction=kept)`.

Each scorer turns a text into a parsed form once (`parse`), gives a token *signature* set
whose overlap bounds the score from above (`signature`), and scores two parsed texts exactly.
"""

import itertools
import math
import re
from collections import defaultdict

import numpy as np
from rapidfuzz.distance import LCSseq

# Above this many DP cells a sentence pair is solved in row blocks instead of a full table.
_FULL_TABLE_CELLS = 4_000_000
_PURE_PYTHON_CELLS = 1_500


class Parsed:
    __slots__ = ("sentences", "sentence_sets", "distinct", "tokens")

    def __init__(self, sentences=None, distinct=None, tokens=None):
        self.sentences = sentences  # rouge package: list of word-id tuples per sentence
        self.sentence_sets = None  # filled on first exact score; most texts never need it
        self.distinct = distinct  # rouge package: tuple of the distinct word ids
        self.tokens = tokens  # rouge-score: tuple of token ids


class Vocabulary:
    """Maps words to small ints so comparisons and numpy work on integers."""

    def __init__(self):
        # A defaultdict numbering new words as they come: lookups stay in C, which matters
        # when a million texts are parsed.
        self.ids = defaultdict(itertools.count().__next__)
        self._id = self.ids.__getitem__

    def many(self, words):
        """The ids of `words`, as a tuple."""
        return tuple(map(self._id, words))


def _dp_rows(x, y, prev):
    """Yield the LCS table rows after `prev` for reference words x (rows) against y (columns).

    Row i+1 from row i: t[i+1][j] = max(t[i][j], max over k <= j of (t[i][k-1] + [x_i == y_k])),
    which equals the textbook recurrence and needs no Python loop over columns.
    """
    for word in x:
        row = np.empty_like(prev)
        row[0] = 0
        np.maximum(prev[1:], np.maximum.accumulate(prev[:-1] + (y == word)), out=row[1:])
        yield row
        prev = row


def _small_lcs_path_words(x, y):
    # For short sentences a plain table beats numpy's per-call overhead.
    m = len(y)
    table = [[0] * (m + 1)]
    for word in x:
        prev = table[-1]
        row = [0]
        left = 0
        for j in range(m):
            left = prev[j] + 1 if word == y[j] else (prev[j + 1] if prev[j + 1] > left else left)
            row.append(left)
        table.append(row)
    words = set()
    i, j = len(x), m
    while i > 0 and j > 0:
        if x[i - 1] == y[j - 1]:
            words.add(x[i - 1])
            i -= 1
            j -= 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def lcs_path_words(x, y):
    """Words on the `rouge` package's LCS back-trace of reference x against evaluated y."""
    n, m = len(x), len(y)
    if x == y:  # the trace runs down the diagonal
        return set(x)
    if n == 0 or m == 0 or not set(x).intersection(y):
        return set()
    if n * m <= _PURE_PYTHON_CELLS:
        return _small_lcs_path_words(x, y)
    xa = np.asarray(x, dtype=np.int64)
    ya = np.asarray(y, dtype=np.int64)
    zero = np.zeros(m + 1, dtype=np.int32)
    block = n + 1 if (n + 1) * (m + 1) <= _FULL_TABLE_CELLS else max(2, math.isqrt(n) + 1)
    # Keep every block-th row; recompute the rows of one block at a time while tracing back.
    checkpoints = {0: zero}
    if block <= n:
        for i, row in enumerate(_dp_rows(xa, ya, zero), start=1):
            if i % block == 0:
                checkpoints[i] = row
    words = set()
    i, j = n, m
    start, table = -1, None
    while i > 0 and j > 0:
        if x[i - 1] == y[j - 1]:
            words.add(x[i - 1])
            i -= 1
            j -= 1
            continue
        low = ((i - 1) // block) * block
        if low != start:
            stop = min(low + block, n)
            table = [checkpoints[low], *(_dp_rows(xa[low:stop], ya, checkpoints[low]))]
            start = low
        if table[i - 1 - start][j] > table[i - start][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def _rouge_package_f(llcs, m, n):
    # The package's own arithmetic, operation for operation, so float results are identical.
    r_lcs = llcs / m
    p_lcs = llcs / n
    return 2.0 * ((p_lcs * r_lcs) / (p_lcs + r_lcs + 1e-8))


class RougePackageScorer:
    name = "rouge"

    def __init__(self, vocabulary=None):
        self.vocab = vocabulary or Vocabulary()

    def parse(self, text):
        """None when the package cannot score the text (it has no sentence at all)."""
        # The package joins a piece's words with single spaces and splits on " ": the piece's
        # words, or the one empty word when the piece is only whitespace.
        ids = [self.vocab.many(piece.split() or ("",)) for piece in str(text).split(".") if len(piece) > 0]
        if not ids:
            return None
        # A tuple, not a frozenset: a set of 65 ids takes 4 KB, a tuple 0.6 KB, and curation
        # holds every task's parsed text at once.
        return Parsed(sentences=ids, distinct=tuple(dict.fromkeys(itertools.chain.from_iterable(ids))))

    @staticmethod
    def signature(parsed):
        return parsed.distinct

    @staticmethod
    def upper_bound(kept, candidate, overlap):
        return _rouge_package_f(overlap, len(candidate.distinct), len(kept.distinct))

    @staticmethod
    def score(kept, candidate):
        # The overlap is the union of the words on every sentence pair's LCS path, whatever
        # order the pairs are taken in. A sentence the kept text also has puts all its words in
        # (its path is the diagonal), so those go first; after that a pair can only add words
        # when it shares one that is not in the union yet, and most pairs are skipped unbuilt.
        for parsed in (kept, candidate):
            if parsed.sentence_sets is None:
                parsed.sentence_sets = [frozenset(s) for s in parsed.sentences]
        union = set()
        kept_sentences = set(kept.sentences)
        for r in candidate.sentences:
            if r in kept_sentences:
                union.update(r)
        for r, rs in zip(candidate.sentences, candidate.sentence_sets):
            missing = rs - union
            for c, cs in zip(kept.sentences, kept.sentence_sets):
                if not missing:
                    break
                if not missing.isdisjoint(cs):
                    union |= lcs_path_words(r, c)
                    missing = rs - union
        return _rouge_package_f(len(union), len(candidate.distinct), len(kept.distinct))


_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
_VALID = re.compile(r"^[a-z0-9]+$")
_CJK = "\u2e80-\u2fff\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_UNICODE_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W_])+")


def reference_tokens(text):
    """rouge-score's default tokenizer without stemming: lowercase, keep [a-z0-9] runs."""
    text = _NON_ALNUM.sub(" ", str(text).lower())
    return [t for t in _SPACES.split(text) if _VALID.match(t)]


def unicode_tokens(text):
    """Letters and digits of any script; each CJK character is its own token (no spaces there)."""
    return _UNICODE_TOKEN.findall(str(text).casefold())


TOKENIZERS = {"default": reference_tokens, "unicode": unicode_tokens}


def _fmeasure(lcs, n_target, n_prediction):
    precision = lcs / n_prediction
    recall = lcs / n_target
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


class RougeScoreScorer:
    name = "rouge-score"

    def __init__(self, vocabulary=None, tokenizer="default"):
        self.vocab = vocabulary or Vocabulary()
        self.tokenize = TOKENIZERS[tokenizer]

    def parse(self, text):
        tokens = self.vocab.many(self.tokenize(text))
        return Parsed(tokens=tokens) if tokens else None

    @staticmethod
    def signature(parsed):
        # Repeated tokens are numbered so that set overlap equals multiset overlap >= LCS.
        seen = {}
        out = []
        for t in parsed.tokens:
            k = seen.get(t, 0)
            seen[t] = k + 1
            out.append((t, k))
        return frozenset(out)

    @staticmethod
    def upper_bound(kept, candidate, overlap):
        return _fmeasure(overlap, len(candidate.tokens), len(kept.tokens))

    @staticmethod
    def score(kept, candidate):
        lcs = LCSseq.similarity(candidate.tokens, kept.tokens)
        return _fmeasure(lcs, len(candidate.tokens), len(kept.tokens))


SCORERS = {"rouge": RougePackageScorer, "rouge-score": RougeScoreScorer}


def make_scorer(name, tokenizer="default"):
    if name not in SCORERS:
        raise ValueError(f"unknown ROUGE-L scorer {name!r}; choose one of {sorted(SCORERS)}")
    if name == "rouge":
        if tokenizer != "default":
            raise ValueError(
                "the 'rouge' scorer splits on spaces as the package does; "
                "the unicode tokenizer needs scorer 'rouge-score'"
            )
        return RougePackageScorer()
    return RougeScoreScorer(tokenizer=tokenizer)
