"""Corpus sources (download_corpus) and the post-pretraining corpus (build_pt_corpus)."""

import glob
import hashlib
import re
import string
import unicodedata
from pathlib import Path

import pandas as pd

from .accounting import DropLog


class SourceError(ValueError):
    """A corpus source that cannot be read; the message names file, row and field."""


def read_table(path):
    """Read JSONL, JSON, parquet or CSV into a DataFrame by file extension."""
    path = Path(path)
    suffixes = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    if suffixes.startswith(".jsonl") or suffixes.startswith(".json"):
        try:
            return pd.read_json(path, lines=suffixes.startswith(".jsonl"))
        except ValueError as err:
            raise SourceError(f"{path}: not valid JSON lines ({err})") from None
    if suffixes.startswith(".parquet"):
        return pd.read_parquet(path)
    if suffixes.startswith(".csv"):
        return pd.read_csv(path, keep_default_na=False, dtype=str)
    raise SourceError(f"{path}: unsupported file type {suffixes!r} (use .jsonl, .json, .parquet or .csv)")


def template_fields(template):
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def render_texts(frame, template, path):
    """Fill the text template for every row; a field the template names must exist."""
    for field in template_fields(template):
        if field not in frame.columns:
            raise SourceError(f"{path}: field '{field}' named in the text template is not a column "
                              f"(columns: {', '.join(map(str, frame.columns))})")
    rows = frame.to_dict("records")
    return [template.format_map({k: ("" if _is_missing(v) else v) for k, v in row.items()})
            for row in rows]


def _is_missing(value):
    return value is None or (isinstance(value, float) and value != value)


def load_file_source(name, spec, base_dir="."):
    """Rows of one `file` corpus source: columns id, source, text (text may be empty)."""
    pattern = str(Path(base_dir) / spec["path"])
    paths = sorted(glob.glob(pattern))
    if not paths:
        raise SourceError(f"corpus source '{name}': no file matches {spec['path']}")
    frames = []
    for path in paths:
        frame = read_table(path)
        texts = render_texts(frame, spec["text_template"], path)
        frames.append(pd.DataFrame({"text": texts}))
    out = pd.concat(frames, ignore_index=True)
    max_rows = spec.get("max_rows")
    if max_rows and len(out) > max_rows:
        out = out.sample(n=max_rows, random_state=spec.get("seed", 0)).sort_index()
    out.insert(0, "source", name)
    out.insert(0, "row", range(len(out)))
    return out.reset_index(drop=True)


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
