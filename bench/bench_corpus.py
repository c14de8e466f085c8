"""Reading a corpus source in bounded memory: shoplora's streaming reader against DuckDB and pandas.

Writes Amazon-Reviews-2023-shaped metadata JSONL (lists in `features`, `description`,
`images`) of each `--sizes-mb`, and reviews of the first size, then reads each with
`max_rows` 20,000 and the template "{title}. {features} {description}":

- shoplora, file: download_corpus's reader (one shard) and gather_corpus_source, as the rule runs;
- shoplora, url: the same source served by a local HTTP server (downloaded, then streamed);
- DuckDB: one SQL query doing the same work (template every row, keep the 20,000 rows with the
  smallest hash) with the same memory limit: the rate to reach;
- pandas (the reader shoplora had before, on the first size only): the whole file in a
  DataFrame, sampled, templated.

Each read runs in its own process, whose peak RSS is printed. Goals: peak RSS at most 1.5 GiB
for every size (flat in the input size), and at least 0.5 of DuckDB's MB/s.
"""

import argparse
import functools
import http.server
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

TEMPLATE = "{title}. {features} {description}"
REVIEW_TEMPLATE = "{title}. {text}"
MAX_ROWS = 20_000
MEMORY_MB = 1024
GIB = 1024**3


def _spec(**kw):
    from shoplora.config.schema import section_defaults

    return section_defaults("corpus", "sources", "*", max_rows=MAX_ROWS, **kw)


def read_shoplora(spec, workdir):
    from shoplora.data.stream import gather, read_shard

    with open(os.devnull, "w") as quiet:
        read_shard("bench", spec, 0, 1, workdir / "0.parquet", cache_dir=workdir / "dl", memory_mb=MEMORY_MB,
                   progress=quiet)  # fmt: skip
    return gather("bench", [workdir / "0.parquet"], workdir / "rows.parquet", MAX_ROWS, memory_mb=MEMORY_MB)


def read_duckdb(path, template):
    import duckdb

    con = duckdb.connect(config={"memory_limit": f"{MEMORY_MB}MB", "threads": len(os.sched_getaffinity(0))})
    fields = {"{title}": "title", "{features}": "features", "{description}": "description", "{text}": "text"}
    parts = []
    for piece in template.replace("}", "}\0").replace("{", "\0{").split("\0"):
        if piece in fields:
            col = fields[piece]
            listy = col in ("features", "description")
            parts.append(f"coalesce(array_to_string({col}, ' '), '')" if listy else f"coalesce({col}, '')")
        elif piece:
            parts.append("'" + piece.replace("'", "''") + "'")
    text = "concat(" + ", ".join(parts) + ")"
    query = (
        f"SELECT text FROM (SELECT {text} AS text FROM read_json('{path}', format='newline_delimited')) "
        f"ORDER BY md5_number_lower(text) LIMIT {MAX_ROWS}"
    )
    return len(con.sql(query).fetchall())


def read_pandas(path, template):
    """shoplora's reader before streaming: the whole file in memory, then sample and template."""
    import pandas as pd

    frame = pd.read_json(path, lines=True)
    frame = frame.sample(n=min(MAX_ROWS, len(frame)), random_state=0).sort_index()

    def text(value):
        return " ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else value)

    return len([template.format_map({k: text(v) for k, v in row.items()}) for row in frame.to_dict("records")])


def child(mode, target, template):
    # Libraries loaded before the clock starts: the rates compare reading, not imports.
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import shoplora.config.schema  # noqa: F401
    import shoplora.data.stream  # noqa: F401

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "shoplora-file":
            rows = read_shoplora(_spec(kind="file", path=target, text_template=template), Path(tmp))
        elif mode == "shoplora-url":
            rows = read_shoplora(_spec(kind="url", url=target, text_template=template), Path(tmp))
        elif mode == "duckdb":
            rows = read_duckdb(target, template)
        else:
            rows = read_pandas(target, template)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "rss": rss}))


def measure(mode, target, template):
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, target, template], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[500, 4000])
    parser.add_argument("--folder", default=None, help="where to write the files (default: a temporary folder)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "TARGET", "TEMPLATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    from amazon_shaped import write_jsonl

    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench_corpus_"))
    folder.mkdir(parents=True, exist_ok=True)
    server = serve(folder)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    files = []
    for i, size in enumerate(args.sizes_mb):
        meta = folder / f"meta_{size}mb.jsonl"
        if not meta.exists():
            write_jsonl(meta, "product", size * 1_000_000)
        files.append((meta, TEMPLATE))
        if i == 0:
            reviews = folder / f"reviews_{size}mb.jsonl"
            if not reviews.exists():
                write_jsonl(reviews, "review", size * 1_000_000)
            files.append((reviews, REVIEW_TEMPLATE))
    peaks, ratios, met = [], [], True
    for n, (path, template) in enumerate(files):
        mb = path.stat().st_size / 1e6
        duck = measure("duckdb", str(path), template)
        results = {
            "shoplora file": measure("shoplora-file", str(path), template),
            "shoplora url": measure("shoplora-url", f"{base_url}/{path.name}", template),
            "DuckDB": duck,
        }
        if n == 0:
            results["pandas (before)"] = measure("pandas", str(path), template)
        print(f"{path.name}: {mb:.0f} MB")
        for name, r in results.items():
            print(
                f"  {name:16s} {r['seconds']:7.1f} s  {mb / r['seconds']:7.1f} MB/s  peak RSS {r['rss'] / GIB:5.2f} GiB"
                f"  rows {r['rows']}"
            )
        for name in ("shoplora file", "shoplora url"):
            peaks.append(results[name]["rss"])
        ratio = duck["seconds"] / results["shoplora file"]["seconds"]
        ratios.append(ratio)
        print(f"  rate ratio shoplora file / DuckDB {ratio:.2f} (goal >= 0.5)")
        if "pandas (before)" in results:
            before = results["pandas (before)"]
            print(
                f"  against pandas: {before['seconds'] / results['shoplora file']['seconds']:.1f}x faster, "
                f"{before['rss'] / results['shoplora file']['rss']:.1f}x less memory"
            )
    server.shutdown()
    peak = max(peaks) / GIB
    ok_memory, ok_rate = peak <= 1.5, min(ratios) >= 0.5
    met = ok_memory and ok_rate
    print(f"peak RSS {peak:.2f} GiB over every size and kind (goal <= 1.5 GiB): {'MET' if ok_memory else 'NOT MET'}")
    print(f"lowest rate ratio {min(ratios):.2f} (goal >= 0.5): {'MET' if ok_rate else 'NOT MET'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
