"""External SFT task sets (EC-Guide, EshopInstruct, a KDD Cup file, ...) mapped onto task records.

`columns` maps each task field to the source's column (default: the same name, so a
ShopBench-style set loads directly); `task_type` gives one type for a set without a type
column. Answers stored as text ("2", "[3, 1, 2]", "1,2,3") are turned into the integer or list
their task type needs; anything that still does not fit is left for curate_sft to drop with a
reason, so every row is accounted for.
"""

import ast
import json

from shoplora.data.sources import SourceError, load_rows
from shoplora.tasks.records import task_id
from shoplora.tasks.spec import INTEGER, INTEGER_LIST, RELEVANCE, STRING_LIST
from shoplora.tasks.types import is_task_type, spec, unknown_type_problem

FIELDS = ("input_field", "output_field", "task_type")
# The official ShopBench fields beyond the task's own, kept when the source has them.
KEPT_FIELDS = ("task_name", "metric", "is_multiple_choice", "track")


def _parse_answer(value, task_type):
    """A text answer as the integer or list its task type's form needs, when it reads as one."""
    if not isinstance(value, str):
        return value.tolist() if hasattr(value, "tolist") else value
    if not is_task_type(task_type):
        return value  # curate_sft drops it with a reason
    text, form = value.strip(), spec(task_type).truth_form
    if form == INTEGER:
        return int(text) if text.lstrip("-").isdigit() else value
    if form in (INTEGER_LIST, STRING_LIST, RELEVANCE):
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(text)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, (list, tuple)):
                return list(parsed)
        if form in (INTEGER_LIST, RELEVANCE) and all(p.strip().isdigit() for p in text.split(",")):
            return [int(p) for p in text.split(",")]
    return value


def _plain(value):
    """A cell as a JSON value: numpy scalars as Python ones, a missing cell (NaN, or empty in a
    CSV) as None."""
    value = value.item() if hasattr(value, "item") else value
    return None if value == "" or (isinstance(value, float) and value != value) else value


def load_task_set(name, source, base_dir=".", cache_dir="results/downloads"):
    """Task records of one external set, in source order, with source 'external:<name>'."""
    columns = {field: source["columns"].get(field, field) for field in FIELDS}
    fixed_type = source["task_type"]
    if fixed_type and not is_task_type(fixed_type):
        raise SourceError(f"task set '{name}': task_type {unknown_type_problem(fixed_type)}")
    records = []
    for origin, frame in load_rows(name, source, base_dir, cache_dir):
        needed = [columns[f] for f in FIELDS if not (f == "task_type" and fixed_type)]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise SourceError(
                f"task set '{name}': {origin} has no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(map(str, frame.columns))}); set task_sets.{name}.columns"
            )
        for row in frame.to_dict("records"):
            task_type = fixed_type or row[columns["task_type"]]
            record = {
                "input_field": row[columns["input_field"]],
                "output_field": _parse_answer(row[columns["output_field"]], task_type),
                "task_type": task_type,
                "source": f"external:{name}",
            }
            for extra in KEPT_FIELDS:
                value = _plain(row.get(extra))
                if value is not None:
                    record[extra] = value
            record["id"] = task_id(record)
            records.append(record)
    return records
