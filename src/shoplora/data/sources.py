"""Rows of a data source in config: local files, an HTTP(S) file, or a Hugging Face dataset.

Every kind returns a DataFrame of the source's own columns, at most `max_rows` of them as a
deterministic sample (`seed`). Corpus sources and external task sets both use this.
"""

import io
import os
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from shoplora.data.download import download
from shoplora.io.paths import matching_files

TABLE_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}


class SourceError(ValueError):
    """A source that cannot be read; the message names the source and the file or dataset."""


def file_format(path, declared=None):
    name = Path(path).name.lower()
    compression = None
    for suffix, kind in COMPRESSIONS.items():
        if name.endswith(suffix):
            compression, name = kind, name[: -len(suffix)]
    fmt = declared or next((s[1:] for s in TABLE_SUFFIXES if name.endswith(s)), None)
    return fmt, compression


def _open_bytes(path, compression):
    if compression == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if compression == "zstd":
        import zstandard

        return zstandard.open(path, "rb")
    return open(path, "rb")


def _open_text(path, compression):
    return io.TextIOWrapper(_open_bytes(path, compression), encoding="utf-8", newline="")


def _first_bad_utf8(path, compression):
    """(line, byte offset) of the first byte that is not UTF-8, read in pieces."""
    import codecs

    decoder, line, offset = codecs.getincrementaldecoder("utf-8")(), 1, 0
    with _open_bytes(path, compression) as handle:
        while piece := handle.read(1 << 20):
            try:
                decoder.decode(piece)
            except UnicodeDecodeError as err:
                return line + piece[: err.start].count(b"\n"), offset + err.start
            line, offset = line + piece.count(b"\n"), offset + len(piece)
    return line, offset


def check_not_empty(path, compression=None):
    """An empty text file is an error that says so (readers would report a missing column)."""
    try:
        with _open_text(path, compression) as handle:
            while piece := handle.read(1 << 16):
                if piece.strip():
                    return
    except UnicodeDecodeError:
        return  # not empty: the reader names the bad byte
    raise SourceError(f"{path}: the file is empty")


def check_csv_quoting(path, compression=None):
    """Read the file once with the csv module in strict mode: a stray, unclosed quote would
    otherwise make pandas merge every following row into one field without a word, a row
    with more or fewer fields than the header would be misread (DuckDB then finds no
    delimiter at all), and a file in another encoding than UTF-8 would fail later without a
    line number."""
    import csv

    with _open_text(path, compression) as handle:
        reader = csv.reader(handle, strict=True)
        start, width = 1, None
        try:
            for fields in reader:
                if width is None:
                    width = len(fields)
                elif fields and len(fields) != width:
                    raise SourceError(
                        f"{path}:{start}: the row has {len(fields)} fields, the header {width}; "
                        "every row needs one field per column"
                    )
                start = reader.line_num + 1
        except csv.Error as err:
            raise SourceError(
                f"{path}:{start}: bad CSV quoting in the row starting on this line ({err}); "
                "a field with a quote character must be quoted whole, with inner quotes doubled"
            ) from None
        except UnicodeDecodeError:
            line, offset = _first_bad_utf8(path, compression)
            raise SourceError(
                f"{path}:{line}: not UTF-8 text (byte {offset}); save the file as UTF-8 "
                "(from Latin-1, e.g. iconv -f latin1 -t utf-8)"
            ) from None


def read_table(path, declared_format=None):
    """Read JSONL, JSON, parquet or CSV (optionally .gz or .zst) into a DataFrame."""
    fmt, compression = file_format(path, declared_format)
    try:
        if fmt in ("jsonl", "json", "csv"):
            check_not_empty(path, compression)
        if fmt in ("jsonl", "json"):
            return pd.read_json(path, lines=fmt == "jsonl", compression=compression)
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            check_csv_quoting(path, compression)
            return pd.read_csv(path, keep_default_na=False, dtype=str, compression=compression)
    except SourceError:
        raise
    except ValueError as err:
        raise SourceError(f"{path}: cannot read as {fmt} ({err})") from None
    raise SourceError(
        f"{path}: unsupported file type (use .jsonl, .json, .parquet or .csv, optionally .gz or .zst, or set `format`)"
    )


def _sample(frame, spec):
    max_rows = spec["max_rows"]
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=spec["seed"]).sort_index()
    return frame.reset_index(drop=True)


def _file_rows(name, spec, base_dir):
    paths = matching_files(Path(base_dir) / spec["path"])
    if not paths:
        raise SourceError(f"source '{name}': no file matches {spec['path']}")
    return [(path, read_table(path, spec["format"])) for path in paths]


def _url_rows(name, spec, cache_dir):
    url = spec["url"]
    filename = Path(urlparse(url).path).name or "download"
    dest = Path(cache_dir) / name / filename
    try:
        path = download(url, dest, sha256=spec["sha256"])
    except Exception as err:  # noqa: BLE001 - any failure is reported with the source's name
        raise SourceError(f"source '{name}': {err}") from None
    return [(str(path), read_table(path, spec["format"]))]


def hub_pin(spec):
    """A source spec to fetch with, and what to record of it: a `kind: hf` source's revision is
    resolved to the commit it stands for now (kept as given where none can be learnt)."""
    if spec["kind"] != "hf":
        return spec, None
    from shoplora.io.hub import resolve_commit

    commit, _ = resolve_commit(spec["dataset"], spec["revision"], "dataset")
    record = {"dataset": spec["dataset"], "revision": spec["revision"], "commit": commit}
    return ({**spec, "revision": commit} if commit else spec), record


def open_hf_dataset(name, spec):
    """The split as a `datasets` Dataset (or IterableDataset when streaming; with max_rows, a
    seeded shuffle buffer of 10,000 and the first N)."""
    import datasets

    dataset_id = spec["dataset"]
    kwargs = {"split": spec["split"], "streaming": spec["streaming"]}
    if spec["config_name"]:
        kwargs["name"] = spec["config_name"]
    if spec["revision"]:
        kwargs["revision"] = spec["revision"]
    if spec["data_files"]:
        kwargs["data_files"] = spec["data_files"]
    try:
        data = datasets.load_dataset(dataset_id, **kwargs)
    except Exception as err:  # noqa: BLE001
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = (
            " HF_HUB_OFFLINE=1 is set (the Makefile sets it for the offline default); unset it to download."
            if offline
            else ""
        )
        raise SourceError(
            f"source '{name}': cannot load Hugging Face dataset '{dataset_id}' - it is not "
            f"in the local cache and the Hub could not be reached, or it does not exist.{hint} "
            f"({type(err).__name__}: {str(err)[:300]})"
        ) from None
    if kwargs["streaming"] and spec["max_rows"]:
        data = data.shuffle(seed=spec["seed"], buffer_size=10_000).take(spec["max_rows"])
    return data


def _hf_rows(name, spec):
    data = open_hf_dataset(name, spec)
    if spec["streaming"]:
        return [(spec["dataset"], pd.DataFrame(list(data)))]
    return [(spec["dataset"], data.to_pandas())]


def load_rows(name, spec, base_dir=".", cache_dir="results/downloads"):
    """[(origin, DataFrame)] for one source; origin is the file or dataset the rows came from."""
    kind = spec["kind"]
    if kind == "file":
        parts = _file_rows(name, spec, base_dir)
    elif kind == "url":
        parts = _url_rows(name, spec, cache_dir)
    elif kind == "hf":
        parts = _hf_rows(name, spec)
    else:
        raise SourceError(f"source '{name}': unknown kind {kind!r}")
    if spec["max_rows"] and sum(len(f) for _, f in parts) > spec["max_rows"]:
        # Sample over all files together so the share of each file follows its size.
        origins = [o for o, f in parts for _ in range(len(f))]
        joined = pd.concat([f for _, f in parts], ignore_index=True)
        joined["__origin"] = origins
        joined = _sample(joined, spec)
        parts = [
            (o, g.drop(columns="__origin").reset_index(drop=True)) for o, g in joined.groupby("__origin", sort=False)
        ]
    return parts
