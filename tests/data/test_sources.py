"""Data sources of every kind: url (real HTTP on 127.0.0.1), hf (a local dataset in Hub layout), file."""

import gzip
import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import zstandard

from shoplora.config.schema import section_defaults
from shoplora.data.corpus import load_corpus_source
from shoplora.data.download import DownloadError, download
from shoplora.data.sources import SourceError, load_rows
from shoplora.data.task_sets import load_task_set


def load_source(name, spec, **kw):
    return load_corpus_source(name, section_defaults("corpus", "sources", "*", **spec), **kw)


def rows_of(name, spec, **kw):
    return load_rows(name, section_defaults("corpus", "sources", "*", **spec), **kw)


def task_set(name, spec, **kw):
    return load_task_set(name, section_defaults("task_sets", "*", **spec), **kw)


ROWS = [
    {"title": f"Lamp {i}", "description": f"A warm desk lamp number {i} for reading.", "lang": "en"} for i in range(40)
]
JSONL = "".join(json.dumps(r) + "\n" for r in ROWS).encode()


class FileServer(ThreadingHTTPServer):
    """Serves `files` (name -> bytes) with Range support; `cut` names files whose first answer
    stops halfway and drops the connection, as a flaky network does."""

    def __init__(self, files, cut=()):
        super().__init__(("127.0.0.1", 0), _FileHandler)
        self.files, self.cut, self.ranges = files, set(cut), []

    def url(self, name):
        return f"http://127.0.0.1:{self.server_address[1]}/{name}"


class _FileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.lstrip("/")
        data = self.server.files.get(name)
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        header = self.headers.get("Range")
        self.server.ranges.append((name, header))
        start = int(header.split("=")[1].split("-")[0]) if header else 0
        self.send_response(206 if header else 200)
        if header:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if name in self.server.cut:
            self.server.cut.discard(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def files():
    servers = []

    def start(content, cut=()):
        srv = FileServer(content, cut)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()


def test_interrupted_download_resumes_with_a_range_request(files, tmp_path):
    srv = files({"meta.jsonl": JSONL}, cut={"meta.jsonl"})
    path = download(
        srv.url("meta.jsonl"), tmp_path / "meta.jsonl", sha256=hashlib.sha256(JSONL).hexdigest(), progress=io.StringIO()
    )
    assert path.read_bytes() == JSONL
    assert srv.ranges[0] == ("meta.jsonl", None)
    assert srv.ranges[1] == ("meta.jsonl", f"bytes={len(JSONL) // 2}-")  # only the missing half


def test_partial_file_from_a_killed_run_is_resumed(files, tmp_path):
    srv = files({"meta.jsonl": JSONL})
    (tmp_path / "meta.jsonl.part").write_bytes(JSONL[:100])
    download(srv.url("meta.jsonl"), tmp_path / "meta.jsonl", progress=io.StringIO())
    assert (tmp_path / "meta.jsonl").read_bytes() == JSONL
    assert srv.ranges == [("meta.jsonl", "bytes=100-")] and not (tmp_path / "meta.jsonl.part").exists()


def test_wrong_checksum_fails_and_leaves_nothing(files, tmp_path):
    srv = files({"meta.jsonl": JSONL})
    with pytest.raises(DownloadError, match="sha256 mismatch, expected 0{64} but got"):
        download(srv.url("meta.jsonl"), tmp_path / "meta.jsonl", sha256="0" * 64, progress=io.StringIO())
    assert list(tmp_path.iterdir()) == []


def test_url_source_reads_gzip_and_zstd_and_names_the_source_on_404(files, tmp_path):
    srv = files({"meta.jsonl.gz": gzip.compress(JSONL), "meta.jsonl.zst": zstandard.ZstdCompressor().compress(JSONL)})
    for name in ("meta.jsonl.gz", "meta.jsonl.zst"):
        spec = {"kind": "url", "url": srv.url(name), "text_template": "{title}. {description}", "max_rows": 10}
        rows = load_source("amazon", spec, cache_dir=tmp_path)
        assert len(rows) == 10 and rows["text"].str.startswith("Lamp ").all()
        assert rows["text"].tolist() == load_source("amazon", spec, cache_dir=tmp_path)["text"].tolist()
    with pytest.raises(SourceError, match="source 'gone': .*missing.jsonl: HTTP 404"):
        rows_of("gone", {"kind": "url", "url": srv.url("missing.jsonl")}, cache_dir=tmp_path)


def hub_folder(root):
    """A dataset laid out as on the Hub: README with configs, parquet shards under data/."""
    (root / "data").mkdir(parents=True)
    frame = pd.DataFrame(
        ROWS
        + [
            {
                "title": "Lampe",
                "description": "Eine warme Schreibtischlampe zum Lesen am Abend, die das Auge schont.",
                "lang": "de",
            }
        ]
    )
    frame["features"] = [["adjustable arm", "USB port"]] * len(frame)
    frame.iloc[:30].to_parquet(root / "data/train-00000-of-00001.parquet")
    frame.iloc[30:].to_parquet(root / "data/test-00000-of-00001.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        "  - split: train\n    path: data/train-*\n  - split: test\n    path: data/test-*\n---\n"
    )
    return root


@pytest.mark.parametrize("streaming", [False, True])
def test_hf_source_from_a_local_folder_in_hub_layout(tmp_path, streaming):
    root = hub_folder(tmp_path / "hub")
    spec = {
        "kind": "hf",
        "dataset": str(root),
        "split": "test",
        "streaming": streaming,
        "text_template": "{title}: {description} Features: {features}",
    }
    rows = load_source("hub", spec)
    assert len(rows) == 11
    assert rows["text"][0] == "Lamp 30: A warm desk lamp number 30 for reading. Features: adjustable arm USB port"
    english = load_source("hub", {**spec, "languages": ["en"]})
    assert len(english) == 10 and not english["text"].str.startswith("Lampe").any()  # detected
    by_field = load_source("hub", {**spec, "languages": ["de"], "language_field": "lang"})
    assert by_field["text"].tolist() == [rows["text"].iloc[-1]]


@pytest.mark.slow  # datasets waits on the Hub before it gives up
def test_hf_source_offline_names_the_source(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        SourceError,
        match="source 'reviews': cannot load Hugging Face dataset 'shoplora-test/no-such-dataset'.*HF_HUB_OFFLINE=1",
    ):
        rows_of("reviews", {"kind": "hf", "dataset": "shoplora-test/no-such-dataset"})


def test_external_task_set_column_mapping(tmp_path):
    pd.DataFrame(
        {
            "question": [
                "Which is a fruit?\n0. apple\n1. chair",
                "Rank them\n1. a\n2. b\n3. c",
                "Name the brands in: Acme shoes",
                "Pick one\n0. x\n1. y",
                "Write a slogan",
            ],
            "answer": ["0", "[3, 1, 2]", "['Acme']", "7", "Lamps that care."],
            "type": ["multiple-choice", "ranking", "named_entity_recognition", "multiple-choice", "generation"],
        }
    ).to_csv(tmp_path / "ec.csv", index=False)
    spec = {
        "kind": "file",
        "path": str(tmp_path / "ec.csv"),
        "columns": {"input_field": "question", "output_field": "answer", "task_type": "type"},
    }
    tasks = task_set("ecguide", spec)
    assert [t["output_field"] for t in tasks] == [0, [3, 1, 2], ["Acme"], 7, "Lamps that care."]
    assert {t["source"] for t in tasks} == {"external:ecguide"} and len({t["id"] for t in tasks}) == 5

    from shoplora.curation.curate import curate

    kept, dropped, report = curate([tasks], [], section_defaults("curate", decontaminate=False))
    assert len(kept) == 4 and dropped["reason"].tolist() == ["invalid:answer_not_an_option"]
    assert report["per_source"]["external:ecguide"]["rows_in"] == 5

    with pytest.raises(
        SourceError, match="task set 'ecguide': .*has no column 'input_field'.*set task_sets.ecguide.columns"
    ):
        task_set("ecguide", {"kind": "file", "path": str(tmp_path / "ec.csv")})
    one_type = task_set(
        "gen", {**spec, "columns": {"input_field": "question", "output_field": "answer"}, "task_type": "generation"}
    )
    assert {t["task_type"] for t in one_type} == {"generation"}
    with pytest.raises(SourceError, match="task set 'gen': task_type has unknown value 'poem'; expected one of"):
        task_set("gen", {**spec, "task_type": "poem"})


UNREADABLE = {
    # A bare UnicodeDecodeError named neither file nor line.
    "latin.csv": (b"text,label\nok,1\ncaf\xe9 au lait,2\n", r"latin.csv:3: not UTF-8 text \(byte 19\)"),
    # DuckDB found no delimiter, and the error said the template's field was not a column.
    "ragged.csv": (b"text,label\na,1\nb,2,3\n", "ragged.csv:3: the row has 3 fields, the header 2"),
    "empty.csv": (b"", "empty.csv: the file is empty"),
    "empty.jsonl": (b"\n \n", "empty.jsonl: the file is empty"),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
@pytest.mark.parametrize("reader", ["corpus", "task_set"])
def test_an_unreadable_source_file_is_named_with_its_line(tmp_path, name, reader):
    content, message = UNREADABLE[name]
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=message):
        if reader == "corpus":
            load_corpus_source("s", section_defaults("corpus", "sources", "*", path=str(tmp_path / name),
                                                     text_template="{text}"))  # fmt: skip
        else:
            task_set("t", {"kind": "file", "path": str(tmp_path / name), "task_type": "generation",
                           "columns": {"input_field": "text", "output_field": "text"}})  # fmt: skip


def test_a_path_with_glob_characters_that_exists_is_that_file(tmp_path):
    folder = tmp_path / "exports[2024]"
    folder.mkdir()
    (folder / "reviews.csv").write_text("text\nA bright and sturdy lamp.\n")
    spec = section_defaults("corpus", "sources", "*", path=str(folder / "reviews.csv"), text_template="{text}")
    assert load_corpus_source("s", spec)["text"].tolist() == ["A bright and sturdy lamp."]


def test_a_task_set_row_without_a_prompt_is_a_drop_record_not_a_crash(tmp_path):
    """The missing cell was NaN, and curation stopped with a TypeError."""
    from shoplora.curation.curate import curate

    rows = [
        {"input_field": "Pick\n0. x\n1. y", "output_field": 1, "task_type": "multiple-choice"},
        {"output_field": "An answer without its question.", "task_type": "generation"},
    ]
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = task_set("partial", {"kind": "file", "path": str(tmp_path / "set.jsonl")})
    kept, dropped, report = curate([tasks], [], section_defaults("curate", decontaminate=False))
    assert len(kept) == 1 and dropped["reason"].tolist() == ["null:input_field"]
    assert report["per_source"]["external:partial"]["rows_in"] == 2


@pytest.mark.workflow
def test_real_config_validates_and_dry_runs(tmp_path):
    import yaml

    from shoplora.config.check import check_config

    from conftest import REPO, make_workdir, run_snakemake

    config = yaml.safe_load((REPO / "config/real.yaml").read_text())
    check_config(config, REPO / "workflow/schemas/config.schema.yaml", base_dir=REPO)
    make_workdir(tmp_path)  # with the embedded default in config/config.yaml, which must not merge in
    out = run_snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/real.yaml")).stdout
    for job in ("download_corpus", "download_task_set", "generate", "curate_sft", "train_pt", "train_sft"):
        assert f"rule {job}:" in out
    assert "meta_beauty" in out and "eshop_instruct" in out
    # The Electronics metadata is read by four shard jobs after one download.
    for shard in range(4):
        assert f"results/corpus/shards/meta_electronics/{shard}.parquet" in out
    assert "results/corpus/shards/meta_electronics/4.parquet" not in out
    assert "rule fetch_corpus_source:" in out and "rule gather_corpus_source:" in out
    assert "products" not in out and "generated/local" not in out  # not merged with the default


@pytest.mark.parametrize("compression", ["", ".gz", ".zst"])
def test_a_stray_csv_quote_is_an_error_naming_file_and_line(tmp_path, compression):
    """pandas used to merge every row after an unclosed quote into one field, silently; the
    error names the line where the badly quoted row starts."""
    text = 'review_title,review_text\nGood,"Comfortable shoes\nBad,Torn after a week\nFine,"Does the job"\n'
    path = tmp_path / f"reviews.csv{compression}"
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compression == ".gz" else zstandard.compress(data) if compression else data)
    with pytest.raises(SourceError, match=r"reviews.csv(.gz|.zst)?:2: bad CSV quoting"):
        rows_of("reviews", {"path": str(path)})
    good = tmp_path / "good.csv"
    good.write_text('review_title,review_text\nGood,"Comfortable, ""light"" shoes\nfor running"\nBad,Torn\n')
    ((_, frame),) = rows_of("reviews", {"path": str(good)})
    assert frame["review_text"].tolist() == ['Comfortable, "light" shoes\nfor running', "Torn"]
