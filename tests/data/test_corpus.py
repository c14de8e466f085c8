import pandas as pd
import pytest

from shoplora.config.schema import section_defaults
from shoplora.data.corpus import build_pt_corpus, load_corpus_source, normalise_text
from shoplora.data.sources import SourceError
from shoplora.io.accounting import AccountingError, Tally

from conftest import REPO


def load_source(name, spec, **kw):
    return load_corpus_source(name, section_defaults("corpus", "sources", "*", **spec), **kw)


def test_file_sources_render_the_template():
    rows = load_source(
        "products", {"path": "resources/corpus/products.jsonl", "text_template": "{title} by {brand}"}, base_dir=REPO
    )
    assert len(rows) == 57
    assert rows.loc[0, "text"] == "Trailmate 40L Hiking Backpack by Northpeak"
    assert set(rows["source"]) == {"products"}


def test_csv_source_and_max_rows_sample_is_deterministic():
    spec = {"path": "resources/corpus/reviews.csv", "text_template": "{review_text}", "max_rows": 10, "seed": 3}
    a = load_source("reviews", spec, base_dir=REPO)
    b = load_source("reviews", spec, base_dir=REPO)
    assert len(a) == 10 and a["text"].tolist() == b["text"].tolist()


def test_missing_template_field_names_file_and_field():
    with pytest.raises(SourceError, match=r"products.jsonl: field 'price' named in the text template"):
        load_source(
            "products",
            {"path": "resources/corpus/products.jsonl", "text_template": "{title} costs {price}"},
            base_dir=REPO,
        )


def test_no_matching_file_is_an_error():
    with pytest.raises(SourceError, match="no file matches"):
        load_source("x", {"path": "resources/corpus/nothing*.jsonl", "text_template": "{a}"}, base_dir=REPO)


def test_build_pt_corpus_accounts_for_every_row():
    a = pd.DataFrame({"source": "a", "text": ["Hello   world, a fine day", "", None, "Hello world, a fine day"]})
    b = pd.DataFrame({"source": "b", "text": ["hello world, a fine day", "Another   text\nhere ok", " . "]})
    corpus, dropped, summary = build_pt_corpus([a, b], min_chars=5)
    assert corpus["text"].tolist() == ["Hello world, a fine day", "hello world, a fine day", "Another text here ok"]
    assert sorted(dropped["reason"]) == ["empty_text", "empty_text", "empty_text", "exact_duplicate"]
    assert summary["per_source"]["a"] == {
        "rows_in": 4,
        "kept": 1,
        "dropped": 3,
        "reasons": {"empty_text": 2, "exact_duplicate": 1},
    }
    assert summary["total"]["rows_in"] == summary["total"]["kept"] + summary["total"]["dropped"] == 7
    assert corpus["id"].is_unique


def test_the_summary_accounts_for_rows_left_out_before_the_corpus():
    rows = pd.DataFrame({"source": "a", "text": ["first listing text", "second listing text", "first listing text"]})
    counts = Tally(10, 3, {"other_language": 4, "not_sampled": 3})
    _, _, summary = build_pt_corpus([rows], min_chars=5, source_rows={"a": counts})
    assert summary["before_corpus"] == {"total": counts.to_dict(), "per_source": {"a": counts.to_dict()}}
    assert summary["before_corpus"]["total"]["dropped"] == 7
    assert summary["per_source"]["a"]["rows_in"] == counts.kept
    with pytest.raises(AccountingError, match="source a: 4 rows gathered but 3 reached the corpus"):
        build_pt_corpus([rows], min_chars=5, source_rows={"a": Tally(10, 4, {"other_language": 4, "not_sampled": 2})})
    with pytest.raises(AccountingError, match="source a: rows before the corpus stage: 10 rows in but 3 kept"):
        build_pt_corpus([rows], min_chars=5, source_rows={"a": Tally(10, 3, {"other_language": 4})})
    with pytest.raises(AccountingError, match="source a: its rows carry no row counts"):
        build_pt_corpus([rows], min_chars=5, source_rows={"a": None})


def test_normalise_text():
    assert normalise_text("  a\u00a0 b\n\tc ") == "a b c"
    assert normalise_text(float("nan")) is None


def test_empty_rows_are_named_by_source_row():
    frame = pd.DataFrame({"source": "r", "text": ["a long enough text", "", "another long text"]})
    _, dropped, _ = build_pt_corpus([frame], min_chars=5)
    assert dropped["id"].tolist() == ["r:row1"]


def test_control_characters_from_a_csv_never_reach_the_pt_text(tmp_path):
    """A NUL in a CSV cell was kept in the post-pretraining text."""
    pd.DataFrame({"review_text": ["Great\x00 lamp, bright\x1b[0m light", "\x00\x00", "Fine\x7f mug"]}).to_csv(
        tmp_path / "reviews.csv", index=False
    )
    rows = load_source("reviews", {"path": str(tmp_path / "reviews.csv"), "text_template": "{review_text}"})
    corpus, dropped, _ = build_pt_corpus([rows], min_chars=3)
    assert corpus["text"].tolist() == ["Great lamp, bright[0m light", "Fine mug"]
    assert dropped["reason"].tolist() == ["empty_text"]
