"""The fast scorers against the reference libraries they replace: same scores, same decisions."""

import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplora.curation.near_dup as near_dup
import shoplora.curation.rouge as rouge_exact
from shoplora.config.schema import section_defaults
from shoplora.curation.curate import curate
from shoplora.curation.near_dup import NearDuplicateIndex, TokenOrder
from shoplora.curation.rouge import RougePackageScorer, RougeScoreScorer, lcs_path_words, make_scorer

from conftest import REPO
from helpers.rouge_reference import REFERENCE, dice_scan, rouge_package_f, rouge_score_f, study_loop

sys.path.insert(0, str(REPO / "bench"))
from bench_dedup import as_tasks  # noqa: E402

from shopping_prompts import shopping_prompts  # noqa: E402

# Few distinct words so that texts overlap; punctuation, repeats, odd whitespace, sentences.
WORDS = ["red", "shoe", "the", "a", "fits", "Shoe", "cheap", "well", "it", "is", "3", "x-2"]
PIECES = st.sampled_from(WORDS + [".", ". ", "..", " ", "  ", "\n", "\t", "!", ",", "é"])
TEXTS = st.lists(PIECES, max_size=40).map(
    lambda parts: " ".join(parts) if parts and parts[0] != "." else "".join(parts)
)


def fast(scorer, kept, candidate):
    a, b = scorer.parse(kept), scorer.parse(candidate)
    return 0.0 if a is None or b is None else scorer.score(a, b)


@settings(max_examples=400, deadline=None)
@given(TEXTS, TEXTS)
def test_rouge_package_scores_are_identical(kept, candidate):
    assert fast(RougePackageScorer(), kept, candidate) == pytest.approx(rouge_package_f(kept, candidate), abs=1e-9)


@settings(max_examples=400, deadline=None)
@given(TEXTS, TEXTS)
def test_rouge_score_scores_are_identical(kept, candidate):
    assert fast(RougeScoreScorer(), kept, candidate) == pytest.approx(rouge_score_f(kept, candidate), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(TEXTS.filter(str.strip), min_size=2, max_size=25),
    st.sampled_from(["rouge", "rouge-score"]),
    st.sampled_from([0.0, 0.3, 0.5, 0.7, 0.9]),
)
def test_greedy_decisions_match_the_study_loop(texts, scorer, threshold):
    # The study's loop with the reference library, after curate's exact check against kept texts.
    score = REFERENCE[scorer]
    expected, kept_idx = [], []
    for i, text in enumerate(texts):
        key = " ".join(text.split()).lower()
        if any(" ".join(texts[k].split()).lower() == key for k in kept_idx):
            expected.append("exact_duplicate")
            continue
        hit = next(((k, s) for k in kept_idx for s in [score(texts[k], text)] if s > threshold), None)
        expected.append(hit)
        if hit is None:
            kept_idx.append(i)
    tasks = [
        {"id": str(i), "input_field": t, "output_field": "x", "task_type": "generation", "source": "g"}
        for i, t in enumerate(texts)
    ]
    kept, dropped, _ = curate(
        [tasks], [], section_defaults("curate", near_duplicate_threshold=threshold, scorer=scorer, decontaminate=False)
    )
    assert [t["id"] for t in kept] == [str(i) for i in kept_idx]
    for i, decision in enumerate(expected):
        if decision is None:
            continue
        row = dropped[dropped["id"] == str(i)].iloc[0]
        if decision == "exact_duplicate":
            assert row["reason"] == "exact_duplicate"
        else:
            assert row["reason"] == "near_duplicate" and row["duplicate_of"] == str(decision[0])
            assert row["score"] == pytest.approx(decision[1], abs=1e-9)


@pytest.mark.parametrize("scorer", ["rouge", "rouge-score"])
def test_score_exactly_at_the_threshold_is_kept(scorer):
    kept_text = "one two three four five six seven eight nine ten"
    candidate = "one two three four five six seven eleven twelve thirteen"
    score = REFERENCE[scorer](kept_text, candidate)
    for threshold, survivors in ((score, 2), (score - 1e-9, 1)):
        tasks = [
            {"id": str(i), "input_field": t, "output_field": "x", "task_type": "generation", "source": "g"}
            for i, t in enumerate([kept_text, candidate])
        ]
        kept, _, _ = curate(
            [tasks],
            [],
            section_defaults("curate", near_duplicate_threshold=threshold, scorer=scorer, decontaminate=False),
        )
        assert len(kept) == survivors == 1 + (study_loop([kept_text, candidate], threshold, scorer)[1] is None)


@pytest.mark.slow  # the reference package on 20,000-word texts (4 s): the full suite only
def test_texts_of_20000_words():
    rng = random.Random(7)
    words = [f"w{rng.randrange(400)}" for _ in range(20000)]
    long_text = ". ".join(" ".join(words[i : i + 25]) for i in range(0, 20000, 25))
    short = " ".join(words[100:140]) + ". " + " ".join(words[5000:5030])
    for name, scorer in (("rouge", RougePackageScorer()), ("rouge-score", RougeScoreScorer())):
        assert fast(scorer, long_text, short) == pytest.approx(REFERENCE[name](long_text, short), abs=1e-9)
        assert fast(scorer, short, long_text) == pytest.approx(REFERENCE[name](short, long_text), abs=1e-9)
    # One 20,000-word sentence against itself with one word changed: the package would recurse
    # 20,000 deep; the block-wise trace handles it.
    single = " ".join(words)
    edited = " ".join(words[:10000] + ["changed"] + words[10001:])
    score = fast(RougePackageScorer(), single, edited)
    assert 0.99 < score < 1.0


def test_block_wise_and_plain_traces_equal_the_full_table(monkeypatch):
    rng = random.Random(3)
    for _ in range(50):
        x = tuple(rng.randrange(6) for _ in range(rng.randint(1, 80)))
        y = tuple(rng.randrange(6) for _ in range(rng.randint(1, 80)))
        full = lcs_path_words(x, y)
        monkeypatch.setattr(rouge_exact, "_FULL_TABLE_CELLS", 10)
        assert lcs_path_words(x, y) == full
        monkeypatch.setattr(rouge_exact, "_FULL_TABLE_CELLS", 4_000_000)
        monkeypatch.setattr(rouge_exact, "_PURE_PYTHON_CELLS", 10**9)
        assert lcs_path_words(x, y) == full  # the plain-Python table for short sentences
        monkeypatch.setattr(rouge_exact, "_PURE_PYTHON_CELLS", 0)


def test_unicode_tokenizer_catches_cjk_duplicates():
    kept = "这款无线耳机音质很好，电池续航长"
    candidate = "这款无线耳机音质很好，电池续航短"
    assert rouge_score_f(kept, candidate) == 0.0  # the reference tokenizer sees no tokens at all
    scorer = make_scorer("rouge-score", "unicode")
    assert fast(scorer, kept, candidate) > 0.9
    assert fast(scorer, "Café crème 2 Tassen", "café CRÈME 2 tassen") == 1.0
    with pytest.raises(ValueError, match="unicode tokenizer needs scorer 'rouge-score'"):
        make_scorer("rouge", "unicode")


def test_index_reports_the_first_kept_match_in_kept_order():
    scorer = RougePackageScorer()
    texts = [
        "blue kettle with a steel lid and a long spout",
        "blue kettle with a steel lid and a short spout",
        "blue kettle with a steel lid and a long handle",
    ]
    parsed = [scorer.parse(t) for t in texts]
    order = TokenOrder(scorer.signature(p) for p in parsed)
    index = NearDuplicateIndex(scorer, 0.7, order)
    index.add(index.entry("a", parsed[0]))
    index.add(index.entry("b", parsed[1]))
    key, score = index.first_match(index.entry("c", parsed[2]))
    assert key == "a" and score == rouge_package_f(texts[0], texts[2])


def test_index_finds_near_copies_too_long_for_int16_bounds():
    """Two near-copies of 30,000 distinct words: 2 x their shared words overflow the int16
    columns the bound starts with, so the index must widen them when the long text arrives."""
    scorer = RougeScoreScorer()
    words = [f"w{i}" for i in range(30000)]
    texts = ["w1 w2 w3 w4", " ".join(words), " ".join(words[:-50] + ["changed"] * 50)]
    parsed = [scorer.parse(t) for t in texts]
    index = NearDuplicateIndex(scorer, 0.7, TokenOrder(scorer.signature(p) for p in parsed))
    index.add(index.entry("short", parsed[0]))
    index.add(index.entry("long", parsed[1]))
    key, score = index.first_match(index.entry("edited", parsed[2]))
    assert key == "long" and score == pytest.approx(29950 / 30000)


def test_index_bounds_many_candidates_at_once_as_it_does_one_at_a_time(monkeypatch):
    """overlapping_many (the split search's path) runs the exact stage on batches of
    candidates; each candidate must get the positions and overlaps `overlapping` gives it."""
    monkeypatch.setattr(near_dup, "_BATCH_POSITIONS", 1500)  # batches of a few candidates
    scorer = RougePackageScorer()
    texts = shopping_prompts(900, seed=5)
    parsed = [scorer.parse(t) for t in texts]
    # A low threshold: candidates have hundreds of kept texts past the first bound.
    index = NearDuplicateIndex(scorer, 0.5, TokenOrder(scorer.signature(p) for p in parsed))
    for i, p in enumerate(parsed[:600]):
        index.add(index.entry(str(i), p))
    candidates = [index.entry(None, p) for p in parsed[600:]]
    candidates[::7] = [None] * len(candidates[::7])  # unscorable texts pass nothing
    positions, overlaps, counts = index.overlapping_many(candidates)
    assert len(counts) == len(candidates) and counts.sum() == len(positions) == len(overlaps)
    start = 0
    for candidate, count in zip(candidates, counts.tolist()):
        expected = index.overlapping(candidate) if candidate is not None else ([], [])
        assert positions[start : start + count].tolist() == list(expected[0])
        assert overlaps[start : start + count].tolist() == list(expected[1])
        start += count
    assert (counts > 0).sum() > 100 and counts.max() > 1


def _decisions(texts, scorer, threshold):
    cfg = section_defaults("curate", near_duplicate_threshold=threshold, scorer=scorer, decontaminate=False)
    kept, dropped, _ = curate([as_tasks(texts)], [], cfg)
    matched = dict(zip(dropped["id"], dropped["duplicate_of"]))
    kept_ids = {t["id"] for t in kept}
    return [None if str(i) in kept_ids else int(matched[str(i)]) for i in range(len(texts))]


@pytest.mark.parametrize("study_prefix", [24, pytest.param(80, marks=pytest.mark.slow)])
@pytest.mark.parametrize("scorer", ["rouge", "rouge-score"])
def test_index_equals_a_scan_of_every_kept_text_on_shopping_prompts(scorer, study_prefix):
    """Thousands of shopping-shaped prompts (templates, Zipf-like product words, near-copies):
    the index's filters must not change a single decision or reported match. The study's loop
    with the reference package is quadratic and slow (8 ms a pair): the unit tier checks it on
    the first 24 prompts, the full suite on 80."""
    texts = shopping_prompts(3000, seed=7)
    scan = [None if hit is None else hit[0] for hit in dice_scan(texts, 0.7, make_scorer(scorer))]
    assert sum(hit is not None for hit in scan) > 300  # the set has real duplicates to find
    assert _decisions(texts, scorer, 0.7) == scan
    # The scan itself is the study's loop, checked on a prefix the reference package can score.
    head = texts[:study_prefix]
    assert [None if hit is None else hit[0] for hit in study_loop(head, 0.7, scorer)] == scan[:study_prefix]
