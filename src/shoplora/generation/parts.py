"""What a generation request asks for: a task type's parts as a response schema and as prompt
text, and the parts turned into a task (each type's spec in `tasks/` says how)."""

import json

from shoplora.tasks.assembly import strict_object
from shoplora.tasks.types import spec

RESPONSE_NAME = "shopbench_tasks"


def response_schema(task_type, n_tasks):
    """The JSON schema of one response: exactly `n_tasks` tasks of one type, as parts."""
    items = spec(task_type).parts_schema
    return strict_object({"tasks": {"type": "array", "items": items, "minItems": n_tasks, "maxItems": n_tasks}})


def describe_parts(task_type):
    """The parts as prompt text, from the schema's own descriptions."""
    lines = []
    for name, part in spec(task_type).parts_schema["properties"].items():
        kind = "list of strings" if part["type"] == "array" else "string"
        lines.append(f'- "{name}" ({kind}): {part["description"]}')
    return "\n".join(lines)


def assemble(task_type, parts):
    """(input_field, output_field) built from schema-valid parts, or (None, reason)."""
    key = json.dumps([task_type, parts], sort_keys=True, ensure_ascii=False)
    return spec(task_type).assemble(parts, key)


def disassemble(task):
    """A seed task as the parts of its type (the inverse of `assemble`), shown as an example
    in JSON prompts; None when the prompt has not the shape the type needs. A truth in
    another form than an answer (ranking weights) is shown as the answer it calls for."""
    return spec(task["task_type"]).disassemble(answered(task))


def answered(task):
    """The task with its truth as an answer (a ranking's weights as the order they call for)."""
    return {**task, "output_field": spec(task["task_type"]).answer_of_truth(task["output_field"])}
