"""The task record (ShopBench format): loading with file/line errors and stable ids; and the
prediction record, one model's answer to an eval task, as infer writes it and evaluate reads it."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shoplora.tasks.types import REQUIRED_FIELDS, default_metric, is_task_type, unknown_type_problem


class TaskFormatError(ValueError):
    """A task file that cannot be read; the message names file, line and field."""


def task_id(record):
    """Stable content hash of what defines a task: its prompt, answer and type."""
    key = json.dumps(
        [record.get("task_type"), record.get("input_field"), record.get("output_field")],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def read_utf8(path):
    """A file's text; TaskFormatError naming the line and byte where it is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TaskFormatError(f"{path}:{line}: not UTF-8 text (byte {err.start}: {data[err.start]:#04x})") from None


def _read_records(path):
    """Yield (line_number, record) from JSON Lines, a JSON array or parquet."""
    path = Path(path)
    if not path.exists():
        raise TaskFormatError(f"{path}: file not found")
    if path.suffix == ".parquet":
        for i, row in enumerate(pd.read_parquet(path).to_dict("records"), start=1):
            yield i, {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()}
        return
    text = read_utf8(path)
    if not text.strip():
        raise TaskFormatError(f"{path}: the file is empty; it needs at least one task record")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise TaskFormatError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        yield from enumerate(rows, start=1)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as err:
            raise TaskFormatError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None


def load_tasks(path, source, strict=True, check=None):
    """Read task records from `path`, adding `id` and `source`.

    strict: a missing field or unknown task type raises TaskFormatError naming the file,
    line and field (for curated inputs such as seeds and eval sets). check: a function of a
    record giving its problem as "field '...' ...", or None (eval sets: eval_row_problem).
    Extra fields, as in the official KDD Cup `development.json`, are kept unchanged.
    """
    records = []
    for lineno, rec in _read_records(path):
        if not isinstance(rec, dict):
            raise TaskFormatError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        if strict:
            for field in REQUIRED_FIELDS:
                if field not in rec:
                    raise TaskFormatError(f"{path}:{lineno}: field '{field}' is missing")
            if not is_task_type(rec["task_type"]):
                raise TaskFormatError(f"{path}:{lineno}: field 'task_type' {unknown_type_problem(rec['task_type'])}")
        if check is not None:
            problem = check(rec)
            if problem:
                raise TaskFormatError(f"{path}:{lineno}: {problem}")
        rec = dict(rec)
        rec.setdefault("metric", default_metric(rec.get("task_type")))
        rec.setdefault("task_name", rec.get("task_type", ""))
        rec["id"] = task_id(rec)
        rec["source"] = source
        records.append(rec)
    return records


@dataclass(frozen=True)
class Prediction:
    id: str
    task_type: str
    task_name: str
    metric: str
    output_field: object
    response: str
    prompt_note: str | None = None  # why a prompt over the length limit was cut or not answered
    track: str | None = None  # the KDD Cup track of an official eval row, for the table's track rows

    @classmethod
    def of(cls, task, response, prompt_note=None):
        """The prediction for an eval task record (as load_tasks gives it)."""
        return cls(task["id"], task["task_type"], task["task_name"], task["metric"], task["output_field"], response,
                   prompt_note, task.get("track"))  # fmt: skip

    def to_record(self):
        record = {name: getattr(self, name) for name in PREDICTION_FIELDS}
        optional = {name: getattr(self, name) for name in ("prompt_note", "track") if getattr(self, name)}
        return {**record, **optional}


# A prediction file's fields; `shoplora score` needs all but `id` (files from elsewhere lack it).
PREDICTION_FIELDS = ("id", "task_type", "task_name", "metric", "output_field", "response")
