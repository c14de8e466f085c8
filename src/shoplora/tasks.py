"""The task record (ShopBench format): loading, stable ids and validity checks."""

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

TASK_TYPES = (
    "multiple-choice",
    "ranking",
    "retrieval",
    "named_entity_recognition",
    "generation",
    "classification",
)
REQUIRED_FIELDS = ("input_field", "output_field", "task_type")
# Default metric per task type, used when a record (e.g. a generated one) names none.
DEFAULT_METRIC = {
    "multiple-choice": "accuracy",
    "classification": "accuracy",
    "ranking": "ndcg",
    "retrieval": "hit rate@3",
    "named_entity_recognition": "micro f1",
    "generation": "rougel",
}
_OPTION_LINE = re.compile(r"^\s*(\d+)[.)]\s+\S", re.MULTILINE)


class TaskFormatError(ValueError):
    """A task file that cannot be read; the message names file, line and field."""


def task_id(record):
    """Stable content hash of what defines a task: its prompt, answer and type."""
    key = json.dumps([record.get("task_type"), record.get("input_field"), record.get("output_field")],
                     ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _read_records(path):
    """Yield (line_number, record) from JSON Lines, a JSON array or parquet."""
    path = Path(path)
    if not path.exists():
        raise TaskFormatError(f"{path}: file not found")
    if path.suffix == ".parquet":
        for i, row in enumerate(pd.read_parquet(path).to_dict("records"), start=1):
            yield i, {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()}
        return
    text = path.read_text(encoding="utf-8")
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


def load_tasks(path, source, strict=True):
    """Read task records from `path`, adding `id` and `source`.

    strict: a missing field or unknown task type raises TaskFormatError naming the file,
    line and field (for curated inputs such as seeds and eval sets). Extra fields, as in
    the official KDD Cup `development.json`, are kept unchanged.
    """
    records = []
    for lineno, rec in _read_records(path):
        if not isinstance(rec, dict):
            raise TaskFormatError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        if strict:
            for field in REQUIRED_FIELDS:
                if field not in rec:
                    raise TaskFormatError(f"{path}:{lineno}: field '{field}' is missing")
            if rec["task_type"] not in TASK_TYPES:
                raise TaskFormatError(f"{path}:{lineno}: field 'task_type' has unknown value "
                                      f"{rec['task_type']!r}; expected one of {', '.join(TASK_TYPES)}")
        rec = dict(rec)
        rec.setdefault("metric", DEFAULT_METRIC.get(rec.get("task_type"), ""))
        rec.setdefault("task_name", rec.get("task_type", ""))
        rec["id"] = task_id(rec)
        rec["source"] = source
        records.append(rec)
    return records


def _option_numbers(prompt):
    return [int(n) for n in _OPTION_LINE.findall(prompt or "")]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def invalid_reason(rec):
    """Why a task record cannot be used for training, or None when it is valid."""
    for field in REQUIRED_FIELDS:
        value = rec.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return f"null:{field}"
        if isinstance(value, list) and not value:
            return f"null:{field}"
    task_type, answer = rec["task_type"], rec["output_field"]
    if task_type not in TASK_TYPES:
        return "invalid:task_type"
    options = _option_numbers(rec["input_field"])
    if task_type in ("multiple-choice", "classification"):
        if not _is_int(answer):
            return "invalid:output_type"
        if options and answer not in options:
            return "invalid:answer_not_an_option"
    elif task_type in ("ranking", "retrieval"):
        if not isinstance(answer, list) or not all(_is_int(x) for x in answer):
            return "invalid:output_type"
        if options and any(x not in options for x in answer):
            return "invalid:answer_out_of_range"
        if task_type == "ranking" and options and sorted(answer) != sorted(options):
            return "invalid:ranking_not_a_permutation"
        if task_type == "retrieval" and len(set(answer)) != len(answer):
            return "invalid:repeated_item"
    elif task_type == "named_entity_recognition":
        if not isinstance(answer, list) or not all(isinstance(x, str) and x.strip() for x in answer):
            return "invalid:output_type"
    elif task_type == "generation":
        if not isinstance(answer, str):
            return "invalid:output_type"
    return None


def answer_text(answer):
    """The answer as the string the model is trained to produce (LLaMA-Factory needs strings)."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(_is_int(x) for x in answer):
        return ",".join(str(x) for x in answer)
    return json.dumps(answer, ensure_ascii=False)
