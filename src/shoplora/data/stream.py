"""download_corpus and gather_corpus_source: a corpus source read out of core, in shards.

DuckDB reads each file (JSON Lines, JSON, CSV, parquet; gzip or zstd too) out of core and
fills the text template in SQL; batches of `batch_rows` texts come back as Arrow, are
language-filtered and appended to parquet row groups, so memory follows the batch size and
DuckDB's memory limit, never the file's size. DuckDB was chosen over a pyarrow or `datasets`
reader because it reads all four formats, compressed or not, with one engine, and its top-k
(`ORDER BY ... LIMIT k`) keeps only k rows in memory.

`max_rows` keeps the k rows with the smallest hash of (seed, text): a uniform, deterministic
sample that does not depend on the order of the rows or files, and shards merge by taking the
k smallest hashes of their own samples. Every row keeps its (file, row) position, so the
gathered rows come out in file order whatever the shard count.

A source with `shards: N` is read by N jobs: by file when it has at least N files, else every
job reads every file and keeps the rows whose hash falls in its shard. A url or hf source is
fetched once before them (fetch_corpus_source): downloaded, or the split written to parquet.

Rows left out before the corpus stage (another language, outside the max_rows sample) are too
many to record one by one; they are counted instead, and the counts travel with the rows in
the parquet files' key-value metadata (`ROW_COUNTS_KEY`) from shard to gathered source, where
build_pt_corpus puts them in the corpus summary.
"""

import json
import os
import string
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shoplora.data.download import download
from shoplora.data.sources import SourceError, check_csv_quoting, check_not_empty, file_format, open_hf_dataset
from shoplora.io.accounting import AccountingError, Tally
from shoplora.io.paths import matching_files

# Columns of a shard file: where each row came from (its order) and its sampling hash.
SHARD_SCHEMA = pa.schema([("file_index", pa.int32()), ("row", pa.int64()), ("h", pa.uint64()), ("text", pa.string())])
BATCH_ROWS = 65_536
# Parquet key-value metadata: a source's rows before its file, a Tally (io.accounting) whose
# reasons are `other_language` (the language filter) and `not_sampled` (max_rows).
ROW_COUNTS_KEY = "shoplora.source_rows"


def sharded_by_file(file_count, shards):
    """Whether a source's shards split its files (else each shard reads every file and keeps
    the rows whose hash falls in it); the workflow's input functions ask the same question."""
    return shards > 1 and file_count >= shards


def _literal(text):
    return "'" + str(text).replace("'", "''") + "'"


def _column(name):
    return '"' + name.replace('"', '""') + '"'


def _field_sql(name, duck_type):
    """A column as text as the template shows it: lists joined by spaces, null as ''."""
    col = _column(name)
    if duck_type.endswith("[]"):
        return f"coalesce(array_to_string({col}, ' '), '')"
    if duck_type == "VARCHAR":
        return f"coalesce({col}, '')"
    if duck_type == "JSON":  # a column whose rows disagree on the type: each row as its own kind
        return (
            f"coalesce(CASE json_type({col}) WHEN 'VARCHAR' THEN {col} ->> '$' "
            f"WHEN 'ARRAY' THEN array_to_string({col} ->> '$[*]', ' ') "
            f"WHEN 'NULL' THEN '' ELSE CAST({col} AS VARCHAR) END, '')"
        )
    return f"coalesce(CAST({col} AS VARCHAR), '')"


def template_sql(template, column_types, origin):
    """The SQL expression that fills a Python format template from a row's columns."""
    parts = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(_literal(literal))
        if field is None:
            continue
        if spec or conversion:
            raise SourceError(
                f"{origin}: text template field {{{field}}} has a format spec or conversion; "
                "only plain {column} fields are supported"
            )
        if field not in column_types:
            raise SourceError(
                f"{origin}: field '{field}' named in the text template is not a column "
                f"(columns: {', '.join(column_types)})"
            )
        parts.append(_field_sql(field, column_types[field]))
    return "concat(" + ", ".join(parts) + ")" if parts else "''"


def _reader_sql(path, fmt, compression, exhaustive=False):
    duck_compression = _literal(compression or "none")
    if fmt in ("jsonl", "json"):
        layout = "'newline_delimited'" if fmt == "jsonl" else "'auto'"
        # exhaustive: infer types from every row, for files whose first rows mislead the sample.
        sample = ", sample_size=-1" if exhaustive else ""
        return f"read_json({_literal(path)}, format={layout}, compression={duck_compression}{sample})"
    if fmt == "csv":
        return f"read_csv({_literal(path)}, header=true, all_varchar=true, compression={duck_compression})"
    if fmt == "parquet":
        return f"read_parquet({_literal(path)})"
    raise SourceError(
        f"{path}: unsupported file type (use .jsonl, .json, .parquet or .csv, optionally .gz or .zst, or set `format`)"
    )


def connect(memory_mb):
    """DuckDB with a memory limit, on the cores this job may use."""
    import duckdb

    threads = max(1, len(os.sched_getaffinity(0)))
    return duckdb.connect(config={"memory_limit": f"{memory_mb}MB", "threads": threads})


def source_files(name, spec, base_dir=".", cache_dir="results/downloads"):
    """[(origin, local path, format, compression)]: the files a source's rows are read from.

    url: downloaded once (resumable) into cache_dir; hf: the split written to parquet there in
    batches, so every kind is then read the same way."""
    kind = spec["kind"]
    if kind == "file":
        paths = matching_files(Path(base_dir) / spec["path"])
        if not paths:
            raise SourceError(f"source '{name}': no file matches {spec['path']}")
        return [(p, p, *file_format(p, spec["format"])) for p in paths]
    if kind == "url":
        url = spec["url"]
        dest = Path(cache_dir) / name / (Path(urlparse(url).path).name or "download")
        try:
            path = download(url, dest, sha256=spec["sha256"])
        except Exception as err:  # noqa: BLE001 - any failure is reported with the source's name
            raise SourceError(f"source '{name}': {err}") from None
        return [(url, str(path), *file_format(path, spec["format"]))]
    if kind == "hf":
        return [(spec["dataset"], str(_hf_to_parquet(name, spec, cache_dir)), "parquet", None)]
    raise SourceError(f"source '{name}': unknown kind {kind!r}")


def _hf_to_parquet(name, spec, cache_dir, batch_rows=BATCH_ROWS):
    data = open_hf_dataset(name, spec)
    dest = Path(cache_dir) / name / f"{spec['split']}.parquet"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".parquet.part")
    writer = None
    try:
        for batch in data.iter(batch_size=batch_rows):
            table = pa.Table.from_pydict(batch)
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
    finally:
        if writer:
            writer.close()
    if writer is None:
        raise SourceError(f"source '{name}': Hugging Face dataset '{spec['dataset']}' has no rows")
    os.replace(tmp, dest)
    return dest


def _language_mask(texts, languages, batch):
    """Rows in `languages`: from the `lang` column when the source names a language_field."""
    if "lang" in batch.schema.names:
        return pc.is_in(batch.column("lang").cast(pa.string()), value_set=pa.array(languages))
    import py3langid

    return pa.array([bool(t.strip()) and py3langid.classify(t)[0] in languages for t in texts.to_pylist()])


class _TypesChanged(Exception):
    """A JSON column's type changed after the rows DuckDB sampled: read the file again."""

    def __init__(self, path, error):
        super().__init__(f"{path}: reading again with types inferred from every row ({str(error)[:200]})")
        self.path = path


def _file_batches(con, name, spec, path, fmt, compression, batch_rows, exhaustive):
    """Arrow batches (text, h[, lang]) of one file."""
    if fmt in ("csv", "jsonl", "json"):
        check_not_empty(path, compression)
    if fmt == "csv":
        check_csv_quoting(path, compression)
    reader = _reader_sql(path, fmt, compression, exhaustive)
    try:
        columns = {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
        text = template_sql(spec["text_template"], columns, path)
        lang = ""
        if spec["languages"] and spec["language_field"]:
            if spec["language_field"] not in columns:
                raise SourceError(
                    f"{path}: language_field '{spec['language_field']}' is not a column (columns: {', '.join(columns)})"
                )
            lang = f", CAST({_column(spec['language_field'])} AS VARCHAR) AS lang"
        seed = _literal(f"{spec['seed']}\x1f")
        query = (
            f"SELECT text, md5_number_lower({seed} || text) AS h{lang} FROM (SELECT {text} AS text{lang} FROM {reader})"
        )
        yield from con.sql(query).to_arrow_reader(batch_rows)
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001 - DuckDB's errors name the byte and line
        if exhaustive or fmt not in ("jsonl", "json") or "Malformed JSON" in str(err):
            raise SourceError(f"source '{name}': {path}: cannot read as {fmt} ({err})") from None
        raise _TypesChanged(path, err) from None


def read_shard(name, spec, shard, shards, out_path, *, files=None, base_dir=".", cache_dir="results/downloads",
               memory_mb=1024, batch_rows=BATCH_ROWS, progress=sys.stderr):  # fmt: skip
    """Write shard `shard` of `shards` of a source to out_path (SHARD_SCHEMA), sampled to max_rows.

    files: source_files' list when fetch_corpus_source has fetched them (else fetched here).
    Returns {"files", "rows_read", "rows_kept", "seconds"}.
    """
    started = time.perf_counter()
    files = files or source_files(name, spec, base_dir, cache_dir)
    con = connect(memory_mb)
    staged = Path(str(out_path) + ".staged.parquet")
    exhaustive = set()
    while True:  # once more for each file whose types changed mid-read: no row is written twice
        try:
            counts = _stage(con, name, spec, files, shard, shards, staged, batch_rows, exhaustive, progress)
            break
        except _TypesChanged as change:
            print(change, file=progress, flush=True)
            exhaustive.add(change.path)
    staged_rows = pq.ParquetFile(staged).metadata.num_rows
    tally = sample_to(con, [staged], out_path, spec["max_rows"], lambda kept: Tally(
        counts["rows_in_shard"], kept,
        {"other_language": counts["rows_other_language"], "not_sampled": staged_rows - kept}))  # fmt: skip
    staged.unlink()
    seconds = round(time.perf_counter() - started, 3)
    return {"files": len(files), "rows_read": counts["rows_read"], **tally.to_dict(), "seconds": seconds}


def _stage(con, name, spec, files, shard, shards, staged, batch_rows, exhaustive, progress):
    """Every row of this shard, language-filtered, into `staged`.

    Returns {"rows_read", "rows_in_shard", "rows_other_language"}: rows the language filter
    leaves out are counted here (a corpus has too many to record one by one)."""
    by_file = sharded_by_file(len(files), shards)
    counts = {"rows_read": 0, "rows_in_shard": 0, "rows_other_language": 0}
    with pq.ParquetWriter(staged, SHARD_SCHEMA) as writer:
        for file_index, (origin, path, fmt, compression) in enumerate(files):
            if by_file and file_index % shards != shard:
                continue
            row = 0
            for batch in _file_batches(con, name, spec, path, fmt, compression, batch_rows, path in exhaustive):
                n = batch.num_rows
                table = pa.RecordBatch.from_arrays(
                    [pa.array(np.full(n, file_index, dtype=np.int32)), pa.array(np.arange(row, row + n)),
                     batch.column("h"), batch.column("text")],
                    schema=SHARD_SCHEMA,
                )  # fmt: skip
                row += n
                counts["rows_read"] += n
                if shards > 1 and not by_file:
                    in_shard = _in_shard(batch.column("h"), shard, shards)
                    table, batch = table.filter(in_shard), batch.filter(in_shard)
                counts["rows_in_shard"] += table.num_rows
                if spec["languages"]:
                    table = table.filter(_language_mask(table.column("text"), spec["languages"], batch))
                    counts["rows_other_language"] += batch.num_rows - table.num_rows
                if table.num_rows:
                    writer.write_batch(table)
                print(f"{name} shard {shard}/{shards}: {counts['rows_read']} rows read from {origin}",
                      file=progress, flush=True)  # fmt: skip
    return counts


def _in_shard(hashes, shard, shards):
    """Rows whose hash falls in this shard (hash mod shards), computed in numpy on the uint64s."""
    values = hashes.to_numpy(zero_copy_only=False)
    return pa.array(values % np.uint64(shards) == np.uint64(shard))


def sample_to(con, parts, out_path, max_rows, counts_for=None):
    """Rows of the shard files `parts` in file order, or the max_rows with the smallest hashes.

    counts_for: a function of the number of rows kept giving the Tally stored with them, which
    is returned."""
    files = "[" + ", ".join(_literal(str(p)) for p in parts) + "]"
    rows = f"SELECT * FROM read_parquet({files})"
    if max_rows:
        rows = f"SELECT * FROM ({rows}) ORDER BY h, file_index, row LIMIT {int(max_rows)}"
    metadata, counts = "", None
    if counts_for:
        total = con.execute(f"SELECT count(*) FROM read_parquet({files})").fetchall()[0][0]  # from the footers
        counts = counts_for(min(total, int(max_rows)) if max_rows else total)
        metadata = f", KV_METADATA {{{_column(ROW_COUNTS_KEY)}: {_literal(json.dumps(counts.to_dict()))}}}"
    tmp = Path(str(out_path) + ".part")
    ordered = f"SELECT * FROM ({rows}) ORDER BY file_index, row"
    con.sql(f"COPY ({ordered}) TO {_literal(str(tmp))} (FORMAT parquet{metadata})")
    if counts:
        check_row_counts(counts, pq.ParquetFile(tmp).metadata.num_rows, out_path)
    os.replace(tmp, out_path)
    return counts


def check_row_counts(tally, rows_in_file, where):
    """Raise unless the Tally adds up and its `kept` is the number of rows in the file."""
    tally.check(f"{where}: rows before the corpus stage")
    if tally.kept != rows_in_file:
        raise AccountingError(f"{where}: {rows_in_file} rows, but its row counts say {tally.kept} were kept")


def row_counts(path):
    """The Tally stored with a shard or gathered source file (None for files written before)."""
    stored = pq.read_metadata(path).metadata or {}
    found = stored.get(ROW_COUNTS_KEY.encode())
    if not found:
        return None
    counts = json.loads(found)
    if "rows_in" not in counts:  # written before the counts were a Tally
        return None
    return Tally.from_dict(counts)


def gather(source, parts, out_path, max_rows, memory_mb=1024):
    """download_corpus's shards merged into the source's rows: columns row, source, text."""
    con = connect(memory_mb)
    merged = Path(str(out_path) + ".merged.parquet")
    shard_counts = [row_counts(p) for p in parts]
    if None in shard_counts:
        raise AccountingError(
            f"source '{source}': shard {parts[shard_counts.index(None)]} has no row counts; it was written by an "
            "older shoplora: run download_corpus again (snakemake --forcerun download_corpus)"
        )
    before = sum(shard_counts, Tally())

    # Rows the shards kept and the source's own max_rows sample leaves out are `not_sampled` too.
    def after_sample(kept):
        return Tally(
            before.rows_in, kept, {**before.reasons, "not_sampled": before.reasons["not_sampled"] + before.kept - kept}
        )

    tally = sample_to(con, parts, merged, max_rows, after_sample)
    counts = _literal(json.dumps(tally.to_dict()))
    tmp = Path(str(out_path) + ".part")
    con.sql(
        f"COPY (SELECT CAST(row_number() OVER (ORDER BY file_index, row) - 1 AS BIGINT) AS row, "
        f"{_literal(source)} AS source, text FROM read_parquet({_literal(str(merged))}) ORDER BY file_index, row) "
        f"TO {_literal(str(tmp))} (FORMAT parquet, KV_METADATA {{{_column(ROW_COUNTS_KEY)}: {counts}}})"
    )
    os.replace(tmp, out_path)
    merged.unlink()
    return pq.ParquetFile(out_path).metadata.num_rows
