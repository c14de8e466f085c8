"""The config schema's task-type lists, written from the task-type registry.

The schema marks three blocks (the type names, `task_mix`'s default, `max_new_tokens`'s
properties) with begin/end comments; `render` rewrites them from the registered specs, so a
type added in `shoplora.tasks` reaches the schema with `make config-docs`
(`python -m shoplora.config.task_type_schema` rewrites the file in place); a test fails when
the file is stale.
"""

import re
import sys

from shoplora.config.schema import SCHEMA_PATH
from shoplora.tasks.types import spec, task_types

_BLOCK = re.compile(
    r"^(?P<indent> *)# begin generated from the task-type registry \(make config-docs\): (?P<name>.+)\n"
    r"(?P<body>.*?)"
    r"^(?P=indent)# end generated: (?P=name)\n",
    re.MULTILINE | re.DOTALL,
)


def _names():
    return [f"enum: [{', '.join(task_types())}]"]


def _task_mix_default():
    return ["default:", *(f"  {name}: 1" for name in task_types())]


def _max_new_tokens():
    lines = ["properties:"]
    for name in task_types():
        task_spec = spec(name)
        label = task_spec.label or f"a {name}"
        lines.append(
            f"  {name}: {{type: integer, minimum: 1, default: {task_spec.max_new_tokens}, "
            f"description: Tokens generated for {label} answer.}}"
        )
    return lines


BLOCKS = {"task type names": _names, "task_mix default": _task_mix_default, "max_new_tokens": _max_new_tokens}


def render(text):
    """`text` with every marked block rewritten from the registry; an unknown block name raises."""

    def block(match):
        name, indent = match["name"], match["indent"]
        if name not in BLOCKS:
            raise ValueError(f"schema block {name!r} is not one of {', '.join(BLOCKS)}")
        body = "".join(f"{indent}{line}\n" for line in BLOCKS[name]())
        return f"{match.group(0).splitlines(keepends=True)[0]}{body}{indent}# end generated: {name}\n"

    rendered, count = _BLOCK.subn(block, text)
    if count != len(BLOCKS):
        raise ValueError(f"the schema has {count} generated task-type blocks; expected {len(BLOCKS)}")
    return rendered


def main():
    text = SCHEMA_PATH.read_text()
    new = render(text)
    if new != text:
        SCHEMA_PATH.write_text(new)
        print(f"rewrote the task-type blocks of {SCHEMA_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
