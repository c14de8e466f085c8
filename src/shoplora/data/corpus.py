"""Corpus sources (download_corpus) and the post-pretraining corpus (build_pt_corpus)."""

import hashlib
import re
import string
import unicodedata

import pandas as pd

from shoplora.data.sources import SourceError, keep_languages, load_rows
from shoplora.io.accounting import DropLog


def template_fields(template):
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_texts(frame, template, path):
    """Fill the text template for every row; a field the template names must exist."""
    for field in template_fields(template):
        if field not in frame.columns:
            raise SourceError(
                f"{path}: field '{field}' named in the text template is not a column "
                f"(columns: {', '.join(map(str, frame.columns))})"
            )
    rows = frame.to_dict("records")
    return [template.format_map({k: _as_text(v) for k, v in row.items()}) for row in rows]


def _is_missing(value):
    return value is None or (isinstance(value, float) and value != value)


def _as_text(value):
    # Hub metadata keeps features and descriptions as lists: join them rather than print a repr.
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return " ".join(str(_as_text(v)) for v in value)
    return "" if _is_missing(value) else value


def load_corpus_source(name, spec, base_dir=".", cache_dir="results/downloads"):
    """Rows of one corpus source (any kind): columns row, source, text (text may be empty)."""
    frames = []
    for origin, frame in load_rows(name, spec, base_dir, cache_dir):
        texts = render_texts(frame, spec["text_template"], origin)
        keep = keep_languages(frame, texts, spec)
        frames.append(pd.DataFrame({"text": [t for t, k in zip(texts, keep) if k]}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"text": []})
    out.insert(0, "source", name)
    out.insert(0, "row", range(len(out)))
    return out


_SPACES = re.compile(r"\s+")


def normalise_text(text):
    """NFC, unified whitespace, stripped; None for null."""
    if _is_missing(text):
        return None
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def text_id(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_pt_corpus(frames, min_chars=1):
    """Concatenate sources, normalise, drop empty and exact-duplicate texts with records."""
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
    corpus = pd.DataFrame(kept, columns=["id", "source", "text"])
    return corpus, drops.frame(), drops.summary(rows_in, rows_kept)
