"""MinHash near-duplicate removal of the PT corpus on planted near-copies."""

import sys

import pandas as pd

from shoplora.config.schema import section_defaults
from shoplora.data.corpus import build_pt_corpus, text_id
from shoplora.data.minhash import near_duplicates

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from planted import corpus, jaccard  # noqa: E402

CFG = section_defaults("corpus", "near_duplicates")


def test_planted_near_copies_are_found_and_name_their_original():
    texts, planted = corpus(3000, 300)
    assert min(j for _, _, j in planted) >= 0.85  # the planted pairs are near-copies by construction
    keys = [f"t{i}" for i in range(len(texts))]
    found = near_duplicates(keys, texts, CFG)
    hits = sum(found.get(keys[copy], (None,))[0] == keys[orig] for orig, copy, _ in planted)
    assert hits / len(planted) >= 0.95
    # Every drop is truly similar to the text it names (exact Jaccard of the shingle sets).
    index = {k: i for i, k in enumerate(keys)}
    for key, (kept, estimate) in found.items():
        assert index[kept] < index[key] and estimate >= CFG["threshold"]
        assert jaccard(texts[index[key]], texts[index[kept]]) >= CFG["threshold"] - 0.15


def test_build_pt_corpus_drops_near_duplicates_with_records_and_accounts_for_every_row():
    texts, planted = corpus(400, 40, seed=3)
    frames = [
        pd.DataFrame({"source": "meta", "text": texts[:200]}),
        pd.DataFrame({"source": "more", "text": texts[200:]}),
    ]
    corpus_frame, dropped, summary = build_pt_corpus(frames, min_chars=5, near_dup=CFG)
    near = dropped[dropped["reason"] == "near_duplicate"]
    assert len(near) >= 0.95 * len(planted)
    kept_ids = set(corpus_frame["id"])
    assert set(near["duplicate_of"]) <= kept_ids and not set(near["id"]) & kept_ids
    assert (near["score"] >= CFG["threshold"]).all()
    for source, counts in summary["per_source"].items():
        assert counts["rows_in"] == counts["kept"] + counts["dropped"], source
    assert summary["total"]["rows_in"] == len(texts) == len(corpus_frame) + len(dropped)
    off, _, _ = build_pt_corpus(frames, min_chars=5, near_dup={**CFG, "enabled": False})
    assert len(off) == len(texts) and text_id(texts[0]) in set(off["id"])
