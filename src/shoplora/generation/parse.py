"""parse_generated: raw responses in the study's `###` format to task records + failures."""

import json
import re

from shoplora.tasks.records import task_id
from shoplora.tasks.types import DEFAULT_METRIC, TASK_TYPES, canonical_name
from shoplora.tasks.validity import invalid_reason

_FIELD = re.compile(r"^\s*[*#-]*\s*(task_type|input_field|output_field)\s*[*]*\s*:\s*(.*)$")


def _split_items(text):
    return [part for part in re.split(r"^\s*###+\s*$", text, flags=re.MULTILINE) if part.strip()]


def parse_item(chunk):
    """Fields of one item, or (None, reason). Continuation lines join the previous field."""
    fields, current = {}, None
    for line in chunk.splitlines():
        match = _FIELD.match(line)
        if match:
            current = match.group(1)
            fields[current] = match.group(2).strip()
        elif current and line.strip():
            fields[current] += "\n" + line.strip()
    for name in ("task_type", "input_field", "output_field"):
        if not fields.get(name):
            return None, f"missing_field:{name}"
    task_type = canonical_name(fields["task_type"])
    if task_type not in TASK_TYPES:
        return None, "unknown_task_type"
    raw_answer = fields["output_field"].strip().strip("`")
    try:
        answer = json.loads(raw_answer)
    except json.JSONDecodeError:
        if task_type != "generation":
            return None, "output_not_json"
        answer = raw_answer
    record = {
        "input_field": fields["input_field"].replace("\\n", "\n"),
        "output_field": answer,
        "task_type": task_type,
        "metric": DEFAULT_METRIC[task_type],
        "task_name": f"generated_{task_type}",
    }
    reason = invalid_reason(record)
    if reason:
        return None, reason
    return record, None


def was_cut_by_length(raw):
    """True when the response stopped at its token budget.

    Some servers (LLaMA-Factory's API among them) say "length" whenever the model stopped
    on a template stop word rather than the tokenizer's EOS; a response that used fewer
    tokens than it was allowed cannot have been cut.
    """
    if raw.get("finish_reason") != "length":
        return False
    used = (raw.get("usage") or {}).get("completion_tokens")
    budget = raw.get("max_tokens")
    return used is None or budget is None or used >= budget


def parse_responses(raw_records, provider):
    """Task records and failure records from one provider's raw outcome records."""
    tasks, failures = [], []
    source = f"generated:{provider}"
    for raw in raw_records:
        if raw.get("status") != "success":
            failures.append({"request_id": raw["id"], "item": None, "reason": "request_failed"})
            continue
        items = _split_items(raw.get("text") or "")
        if was_cut_by_length(raw) and items:
            failures.append({"request_id": raw["id"], "item": len(items) - 1, "reason": "truncated_by_length"})
            items = items[:-1]
        if not items:
            failures.append({"request_id": raw["id"], "item": None, "reason": "no_items"})
        for i, chunk in enumerate(items):
            record, reason = parse_item(chunk)
            if record is None:
                failures.append({"request_id": raw["id"], "item": i, "reason": reason})
                continue
            record.update(id=task_id(record), source=source, request_id=raw["id"])
            tasks.append(record)
    return tasks, failures
