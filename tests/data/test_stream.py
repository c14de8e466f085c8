"""Corpus sources read out of core: every format and compression, sampling, shards, languages."""

import gzip
import io
import json
import random
import re
import sys

import pandas as pd
import pytest
import zstandard

from shoplora.config.schema import section_defaults
from shoplora.data.corpus import load_corpus_source
from shoplora.data.sources import SourceError
from shoplora.data.stream import gather, read_shard, row_counts
from shoplora.io.accounting import AccountingError, Tally

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from amazon_shaped import product  # noqa: E402

TEMPLATE = "{title}. {features} {description} Sold by {store}."


def spec(path, **kw):
    return section_defaults("corpus", "sources", "*", kind="file", path=str(path), text_template=TEMPLATE, **kw)


def products(n, seed=0):
    rng = random.Random(seed)
    return [product(rng, i) for i in range(n)]


def reference_texts(rows):
    """The template filled as the pandas reader filled it: lists joined by spaces, null empty."""

    def text(value):
        if isinstance(value, list):
            return " ".join(map(str, value))
        return "" if value is None else str(value)

    return [TEMPLATE.format_map({k: text(v) for k, v in row.items()}) for row in rows]


def write_jsonl(path, rows, opener=open):
    with opener(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    return path


@pytest.mark.parametrize("name", ["p.jsonl", "p.jsonl.gz", "p.jsonl.zst", "p.json", "p.parquet", "p.csv", "p.csv.gz"])
def test_every_format_and_compression_gives_the_template_texts_in_file_order(tmp_path, name):
    rows = products(300)
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(rows))
    elif name.endswith(".parquet"):
        pd.DataFrame(rows).to_parquet(path)
    elif ".csv" in name:  # CSV holds strings: lists as they would be exported, joined
        flat = [{k: (" ".join(v) if isinstance(v, list) else v) for k, v in r.items() if k != "images"} for r in rows]
        pd.DataFrame(flat).to_csv(path, index=False, compression="gzip" if name.endswith(".gz") else None)
    else:
        opener = {"gz": gzip.open, "zst": zstandard.open}.get(name.rsplit(".", 1)[-1], open)
        write_jsonl(path, rows, opener)
    out = load_corpus_source("products", spec(path))
    assert out["text"].tolist() == reference_texts(rows)
    assert out["row"].tolist() == list(range(300)) and set(out["source"]) == {"products"}


@pytest.mark.slow  # four reads of the same rows in several layouts (4 s): the full suite only
def test_max_rows_sample_is_independent_of_shards_row_order_and_files(tmp_path):
    rows = products(2000)
    one = write_jsonl(tmp_path / "one.jsonl", rows)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    (tmp_path / "parts").mkdir()
    for k in range(3):
        write_jsonl(tmp_path / "parts" / f"part{k}.jsonl", shuffled[k::3])
    sample = load_corpus_source("p", spec(one, max_rows=150))
    assert len(sample) == 150 and sample["row"].tolist() == list(range(150))
    texts = reference_texts(rows)
    # In file order, and the same rows whatever the shard count or the order of rows and files.
    assert sample["text"].tolist() == [t for t in texts if t in set(sample["text"])]
    for shards in (2, 3, 5):
        assert load_corpus_source("p", spec(one, max_rows=150), shards=shards).equals(sample)
    for shards in (1, 3):  # three files: sharded by file
        other = load_corpus_source("p", spec(tmp_path / "parts/*.jsonl", max_rows=150), shards=shards)
        assert sorted(other["text"]) == sorted(sample["text"])
    # Another seed, another sample.
    assert set(load_corpus_source("p", spec(one, max_rows=150, seed=1))["text"]) != set(sample["text"])


def test_sharded_read_equals_the_unsharded_one(tmp_path):
    rows = products(500)
    (tmp_path / "parts").mkdir()
    for k in range(4):
        write_jsonl(tmp_path / "parts" / f"part{k}.jsonl", rows[k * 125 : (k + 1) * 125])
    whole = load_corpus_source("p", spec(tmp_path / "parts/*.jsonl"))
    assert whole["text"].tolist() == reference_texts(rows)
    for shards in (2, 4, 7):  # by file (2, 4) and by row hash (7 > 4 files)
        pd.testing.assert_frame_equal(load_corpus_source("p", spec(tmp_path / "parts/*.jsonl"), shards=shards), whole)


def test_languages_are_filtered_before_the_sample(tmp_path):
    english = [{"title": f"A sturdy steel water bottle number {i}", "lang": "en"} for i in range(40)]
    german = [{"title": f"Eine robuste Trinkflasche aus Stahl mit Nummer {i}", "lang": "de"} for i in range(40)]
    path = write_jsonl(tmp_path / "mixed.jsonl", [r for pair in zip(english, german) for r in pair])
    kw = {"text_template": "{title}", "languages": ["en"]}
    detected = load_corpus_source("m", {**spec(path), **kw})
    assert detected["text"].tolist() == [r["title"] for r in english]
    by_field = load_corpus_source("m", {**spec(path), **kw, "language_field": "lang", "max_rows": 10})
    assert len(by_field) == 10 and set(by_field["text"]) <= {r["title"] for r in english}
    # The rows left out are counted: read = kept by the filter + other language.
    stats = read_shard("m", {**spec(path), **kw}, 0, 2, tmp_path / "0.parquet", progress=io.StringIO())
    stats_1 = read_shard("m", {**spec(path), **kw}, 1, 2, tmp_path / "1.parquet", progress=io.StringIO())
    assert stats["rows_read"] == stats_1["rows_read"] == 80
    assert stats["rows_in"] + stats_1["rows_in"] == 80
    assert stats["reasons"]["other_language"] + stats_1["reasons"]["other_language"] == 40
    assert stats["kept"] == stats["rows_in"] - stats["reasons"]["other_language"] == stats["rows_in"] - stats["dropped"]


@pytest.mark.parametrize("shards", [1, 3])
def test_rows_left_out_before_the_corpus_are_counted_from_shards_to_the_gathered_source(tmp_path, shards):
    english = [{"title": f"A sturdy steel water bottle number {i}", "lang": "en"} for i in range(60)]
    german = [{"title": f"Eine robuste Trinkflasche aus Stahl mit Nummer {i}", "lang": "de"} for i in range(30)]
    path = write_jsonl(tmp_path / "mixed.jsonl", english + german)
    source = {**spec(path), "text_template": "{title}", "languages": ["en"], "language_field": "lang", "max_rows": 25}
    parts = [tmp_path / f"{shard}.parquet" for shard in range(shards)]
    for shard, part in enumerate(parts):
        read_shard("m", source, shard, shards, part, progress=io.StringIO())
        counts = row_counts(part)
        assert counts.kept == len(pd.read_parquet(part)) == min(25, counts.rows_in - counts.reasons["other_language"])
    assert sum(row_counts(p).rows_in for p in parts) == 90
    gather("m", parts, tmp_path / "rows.parquet", source["max_rows"])
    gathered = row_counts(tmp_path / "rows.parquet")
    assert gathered == Tally(90, 25, {"other_language": 30, "not_sampled": 35})
    assert len(pd.read_parquet(tmp_path / "rows.parquet")) == 25
    # A shard file from before the counts existed is refused by name, not summed as zero.
    pd.read_parquet(parts[0]).to_parquet(parts[0])
    with pytest.raises(AccountingError, match=r"0.parquet has no row counts.*download_corpus"):
        gather("m", parts, tmp_path / "again.parquet", source["max_rows"])


@pytest.mark.slow  # needs a 43 MB file to get past DuckDB's type sample (5 s): the full suite only
def test_a_column_whose_type_changes_late_is_read_again_without_writing_a_row_twice(tmp_path):
    path = tmp_path / "mixed.jsonl"
    with open(path, "w") as out:  # 43 MB: DuckDB has returned most rows when it meets the string
        out.write((json.dumps({"title": "t", "price": 1.5}) + "\n") * 1_500_000)
        out.write(json.dumps({"title": "late", "price": "ten dollars"}) + "\n")
    source = {**spec(path), "text_template": "{title} costs {price}"}
    log = io.StringIO()
    read_shard("m", source, 0, 1, tmp_path / "0.parquet", batch_rows=10_000, progress=log)
    gather("m", [tmp_path / "0.parquet"], tmp_path / "rows.parquet", None)
    out = pd.read_parquet(tmp_path / "rows.parquet")
    log = log.getvalue()
    assert "reading again with types inferred from every row" in log
    first_read = re.findall(r": (\d+) rows read", log.split("reading again")[0])
    assert int(first_read[-1]) > 1_000_000  # rows of the first read were written before the error
    assert len(out) == 1_500_001 and out["row"].tolist()[-1] == 1_500_000
    assert (out["text"].iloc[:-1] == "t costs 1.5").all() and out["text"].iloc[-1] == "late costs ten dollars"


def test_bad_input_names_the_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "a"}\n{"title": "b"\n{"title": "c"}\n')
    with pytest.raises(SourceError, match=r"bad.jsonl.*cannot read as jsonl.*Malformed JSON.*line"):
        load_corpus_source("b", {**spec(path), "text_template": "{title}"})
    good = write_jsonl(tmp_path / "good.jsonl", [{"title": "a"}])
    with pytest.raises(SourceError, match=r"good.jsonl: field 'brand' named in the text template is not a column"):
        load_corpus_source("g", {**spec(good), "text_template": "{title} by {brand}"})
    with pytest.raises(SourceError, match=r"format spec or conversion"):
        load_corpus_source("g", {**spec(good), "text_template": "{title!r}"})
