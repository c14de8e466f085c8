"""parse_generated: raw responses (JSON parts, or the study's `###` text) to task records + failures."""

import json
import re
from collections import Counter

from jsonschema import Draft202012Validator

from shoplora.generation.parts import assemble
from shoplora.io.accounting import DropLog, Tally
from shoplora.tasks.records import task_id
from shoplora.tasks.spec import STRING
from shoplora.tasks.types import canonical_name, is_task_type, spec
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
    if not is_task_type(task_type):
        return None, "unknown_task_type"
    raw_answer = fields["output_field"].strip().strip("`")
    try:
        answer = json.loads(raw_answer)
    except json.JSONDecodeError:
        if spec(task_type).answer != STRING:  # only free text may come unquoted
            return None, "output_not_json"
        answer = raw_answer
    return generated_task(task_type, fields["input_field"].replace("\\n", "\n"), answer)


def generated_task(task_type, input_field, output_field):
    """A generated task record of a known type, or (None, reason) when it is not valid."""
    record = {
        "input_field": input_field,
        "output_field": output_field,
        "task_type": task_type,
        "metric": spec(task_type).default_metric,
        "task_name": f"generated_{task_type}",
    }
    reason = invalid_reason(record, generated=True)
    return (None, reason) if reason else (record, None)


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


_CODE_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


_VALIDATORS = {}  # task type -> (its spec, a validator of its parts schema)


def _part_validator(task_type):
    """One validator per spec (building one costs about as much as a validation), rebuilt when
    the type is registered again."""
    task_spec = spec(task_type)
    cached = _VALIDATORS.get(task_type)
    if cached is None or cached[0] is not task_spec:
        cached = _VALIDATORS[task_type] = (task_spec, Draft202012Validator(task_spec.parts_schema))
    return cached[1]


def schema_reason(task_type, item):
    """Why one item breaks its task type's part schema (first error, by path), or None."""
    errors = sorted(_part_validator(task_type).iter_errors(item), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    err = errors[0]
    where = next((str(p) for p in err.absolute_path if isinstance(p, str)), "item")
    return f"schema:{where}:{err.validator}"


def json_items(text):
    """The task items of a JSON response ({"tasks": [...]} or a bare list), or (None, reason)."""
    fenced = _CODE_FENCE.match(text)  # JSON mode of some hosted models still adds a fence
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return None, "not_json"
    items = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return None, "no_tasks_list"
    return items, None


_LIST_START = re.compile(r'^\s*(?:\{\s*"tasks"\s*:\s*)?\[')


def complete_items(text):
    """The items of a task list that was cut off: every item closed before the cut."""
    start = _LIST_START.match(text)
    if not start:
        return []
    decoder, pos, items = json.JSONDecoder(), start.end(), []
    while True:
        while pos < len(text) and text[pos] in " \n\r\t,":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items
        items.append(item)


def parse_json_item(task_type, item):
    """A task record assembled from one item's parts, or (None, reason)."""
    reason = schema_reason(task_type, item)
    if reason:
        return None, reason
    built, reason = assemble(task_type, item)
    if reason:
        return None, reason
    return generated_task(task_type, *built)


def _response_items(raw):
    """(items, failure reasons) of one successful response; items are (index, parse result)."""
    text = raw.get("text") or ""
    cut = was_cut_by_length(raw)
    if raw.get("output") in (None, "text"):  # records cached before output modes were text
        chunks = _split_items(text)
        early = []
        if cut and chunks:
            early.append((len(chunks) - 1, "truncated_by_length"))
            chunks = chunks[:-1]
        return [(i, parse_item(c)) for i, c in enumerate(chunks)], early
    items, reason = json_items(text)
    early = []
    if items is None:
        if not cut:
            return [], [(None, reason)]
        # A response that ran out of tokens is cut JSON: the items closed before the cut count,
        # as in the text format, and the cut one is recorded.
        items = complete_items(text)
        early = [(len(items), "truncated_by_length")]
    task_type = raw["task_type"]
    return [(i, parse_json_item(task_type, item)) for i, item in enumerate(items)], early


# Failures about a whole response, or the item a token budget cut (never read), rather than
# one item read from it: the items read are accounted for without them.
RESPONSE_REASONS = frozenset({"request_failed", "not_json", "no_tasks_list", "no_items", "truncated_by_length"})


def parse_responses(raw_records, provider):
    """Task records, failure records and a per-task-type summary from one provider's raw records.

    A failure is a Drop record (io.accounting): its id is the request's, with `#<item>` for one
    item of a response; its detail the task type. Summary per task type: items requested,
    items read from responses, items valid, and the reason counts of the failures (one per
    response for the RESPONSE_REASONS); items read = valid + the other failures, checked.
    """
    tasks, drops = [], DropLog()
    source = f"generated:{provider}"
    summary = {}

    for raw in raw_records:
        task_type = raw.get("task_type")
        entry = summary.setdefault(
            task_type or "unknown", {"requested": 0, "read": 0, "valid": 0, "failures": Counter()}
        )
        entry["requested"] += int(raw.get("tasks_asked") or 0)

        def fail(reason, item=None, raw=raw, entry=entry):
            drops.drop(
                raw["id"] if item is None else f"{raw['id']}#{item}", source, reason, detail=raw.get("task_type")
            )
            entry["failures"][reason] += 1

        if raw.get("status") != "success":
            fail("request_failed")
            continue
        items, early = _response_items(raw)
        for item, reason in early:
            fail(reason, item)
        if not items and not early:
            fail("no_items")
        for i, (record, reason) in items:
            entry["read"] += 1
            if record is None:
                fail(reason, i)
                continue
            record.update(id=task_id(record), source=source, request_id=raw["id"])
            tasks.append(record)
            entry["valid"] += 1
    for task_type, entry in summary.items():
        item_reasons = {r: n for r, n in entry["failures"].items() if r not in RESPONSE_REASONS}
        Tally(entry["read"], entry["valid"], item_reasons).check(f"{source} {task_type}: items read")
        entry["failures"] = dict(sorted(entry["failures"].items()))
    return tasks, drops.records(), summary
