"""Corpus sources (download_corpus) and the post-pretraining corpus (build_pt_corpus)."""

import hashlib
import os
import re
import sys
import unicodedata
from pathlib import Path

import pandas as pd

from shoplora.data.minhash import near_duplicates
from shoplora.data.stream import gather, read_shard
from shoplora.io.accounting import AccountingError, DropLog, Tally


def load_corpus_source(name, spec, base_dir=".", cache_dir="results/downloads", shards=1):
    """Rows of one corpus source (any kind) as download_corpus and gather_corpus_source write
    them: columns row, source, text (text may be empty). For tests and notebooks; the workflow
    streams to parquet and never holds a source in memory."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as quiet:
        parts = [Path(tmp) / f"{shard}.parquet" for shard in range(shards)]
        for shard, part in enumerate(parts):
            read_shard(name, spec, shard, shards, part, base_dir=base_dir, cache_dir=cache_dir, progress=quiet)
        gather(name, parts, Path(tmp) / "rows.parquet", spec["max_rows"])
        return pd.read_parquet(Path(tmp) / "rows.parquet")


_SPACES = re.compile(r"\s+")
# Control characters that are not whitespace (NUL, escape, DEL, C1): a CSV or a scraped page
# may hold them, and a model would learn them as text.
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x9f]")


def _is_missing(value):
    return value is None or (isinstance(value, float) and value != value)


def normalise_text(text):
    """NFC, control characters removed, unified whitespace, stripped; None for null."""
    if _is_missing(text):
        return None
    return _SPACES.sub(" ", CONTROL.sub("", unicodedata.normalize("NFC", str(text)))).strip()


def text_id(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_pt_corpus(frames, min_chars=1, near_dup=None, source_rows=None, progress=sys.stderr):
    """Concatenate sources, normalise, drop empty, exact-duplicate and (near_dup: the
    corpus.near_duplicates section, when enabled) MinHash near-duplicate texts with records.

    source_rows: {source: the Tally gather_corpus_source stored with its rows}; they go into
    the summary as `before_corpus`, so it accounts for every row read from a source."""
    drops = DropLog()
    kept, seen = [], {}
    rows_in, rows_kept = {}, {}
    for frame in frames:
        for source, raw in zip(frame["source"], frame["text"]):
            row = rows_in.get(source, 0)
            rows_in[source] = row + 1
            text = normalise_text(raw)
            if not text or len(text.strip(" |:;-,.")) < min_chars:
                # No text to hash: the drop record names the row within its source.
                drops.drop(f"{source}:row{row}", source, "empty_text")
                continue
            tid = text_id(text)
            if tid in seen:
                drops.drop(tid, source, "exact_duplicate", duplicate_of=tid)
                continue
            seen[tid] = True
            kept.append({"id": tid, "source": source, "text": text})
            rows_kept[source] = rows_kept.get(source, 0) + 1
    if near_dup and near_dup["enabled"]:
        found = near_duplicates([k["id"] for k in kept], [k["text"] for k in kept], near_dup, progress)
        for k in kept:
            if k["id"] in found:
                kept_id, similarity = found[k["id"]]
                drops.drop(k["id"], k["source"], "near_duplicate", duplicate_of=kept_id, score=similarity)
                rows_kept[k["source"]] -= 1
        kept = [k for k in kept if k["id"] not in found]
    corpus = pd.DataFrame(kept, columns=["id", "source", "text"])
    summary = drops.summary(rows_in, rows_kept)
    if source_rows is not None:
        summary["before_corpus"] = before_corpus(source_rows, rows_in)
    return corpus, drops.frame(), summary


def before_corpus(source_rows, rows_in):
    """Rows read per source and where those that never reached this stage went."""
    for source, counts in source_rows.items():
        if counts is None:
            raise AccountingError(f"source {source}: its rows carry no row counts; run gather_corpus_source again")
        counts.check(f"source {source}: rows before the corpus stage")
        if counts.kept != rows_in.get(source, 0):
            raise AccountingError(
                f"source {source}: {counts.kept} rows gathered but {rows_in.get(source, 0)} reached the corpus"
            )
    total = sum(source_rows.values(), Tally())
    return {"total": total.to_dict(), "per_source": {s: t.to_dict() for s, t in sorted(source_rows.items())}}
