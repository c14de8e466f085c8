"""The judge: a prompt per task type asks whether a task is reasonable and its answer correct,
for a JSON verdict; the verdict read back, or the reason it cannot be."""

import json
import re
import string

from jsonschema import Draft202012Validator

from shoplora.generation.parts import answered

JUDGE_NAME = "task_verdict"
# What a verdict holds. `score` is an enum so that a grammar-constrained server (the local
# one) writes one of the five values; `reason` is bounded so a small model cannot fill its
# whole token budget with it.
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "reasonable": {"type": "boolean", "description": "the question makes sense and can be answered"},
        "answer_correct": {"type": "boolean", "description": "the given answer is the correct one"},
        "score": {"type": "integer", "enum": [1, 2, 3, 4, 5], "description": "overall quality, 1 (bad) to 5"},
        "reason": {"type": "string", "minLength": 1, "maxLength": 300, "description": "one sentence"},
    },
    "required": ["reasonable", "answer_correct", "score", "reason"],
    "additionalProperties": False,
}
# Read back more leniently than asked: a hosted model in JSON mode may add a key of its own.
_VALIDATOR = Draft202012Validator({**VERDICT_SCHEMA, "additionalProperties": True})

# The placeholders a judge prompt may use; {input_field} and {output_field} it must.
JUDGE_FIELDS = ("task_type", "input_field", "output_field")
REQUIRED_FIELDS = ("input_field", "output_field")


def template_problem(template):
    """Why a judge prompt cannot be rendered, or None (checked before any job starts)."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as err:
        return f"{err} (write a literal brace as {{{{ or }}}})"
    unknown = [f for f in fields if f not in JUDGE_FIELDS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; a judge prompt may use " + ", ".join(
            "{" + f + "}" for f in JUDGE_FIELDS
        )
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        return f"no {{{missing[0]}}} placeholder: the judge would not see the task"
    return None


def render(template, task):
    """The judge prompt for one task; its answer shown as a model would give it (a ranking's
    weights as the order they call for)."""
    answer = answered(task)["output_field"]
    return template.format(
        task_type=task["task_type"],
        input_field=task["input_field"],
        output_field=json.dumps(answer, ensure_ascii=False),
    )


def response_format(mode):
    """The judge request's `response_format` in an output mode (None: plain text)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": JUDGE_NAME, "strict": True, "schema": VERDICT_SCHEMA}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def read_verdict(text):
    """(verdict, None) from a judge's answer, or (None, reason): `judge_not_json` when no JSON
    object can be read, `judge_schema:<field>` when one breaks the verdict schema. A code fence
    or words around the object (text mode) are allowed."""
    if not isinstance(text, str):
        return None, "judge_not_json"
    found = _OBJECT.search(text)
    try:
        data = json.loads(found.group(0) if found else text)
    except json.JSONDecodeError:
        return None, "judge_not_json"
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        err = errors[0]
        where = next((str(p) for p in err.absolute_path), None) or (
            err.message.split("'")[1] if err.validator == "required" else "verdict"
        )
        return None, f"judge_schema:{where}"
    return data, None
