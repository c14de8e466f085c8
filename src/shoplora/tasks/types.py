"""The registry of task types: every stage asks it for a type's spec, so one `register` call
adds a type everywhere (see `spec.TaskTypeSpec`); the six ShopBench types are built in.

Ask at call time (`task_types()`, `spec(name)`), never copy the names at import: a type
registered later must be seen.
"""

from shoplora.tasks.shopbench import SHOPBENCH_TYPES
from shoplora.tasks.spec import TaskTypeSpec

REQUIRED_FIELDS = ("input_field", "output_field", "task_type")
# The metric whose task score pools the rows' counts instead of averaging row scores.
POOLED_METRIC = "micro f1"

_REGISTRY = {}


def register(task_spec: TaskTypeSpec):
    """Add a task type; a name (or alias) already taken by another type is refused."""
    taken = {**{s.name: s.name for s in _REGISTRY.values()}, **_aliases()}
    for name in (task_spec.name, *task_spec.aliases):
        if name in taken and taken[name] != task_spec.name:
            raise ValueError(f"task type name {name!r} is already taken by {taken[name]!r}")
    _REGISTRY[task_spec.name] = task_spec


def unregister(name):
    """Remove a type (a test's toy type); the built-in ones stay."""
    if name in {s.name for s in SHOPBENCH_TYPES}:
        raise ValueError(f"{name!r} is a built-in ShopBench task type")
    _REGISTRY.pop(name, None)


def task_types():
    """Registered type names, built-in ones first in their schema order."""
    return tuple(_REGISTRY)


def is_task_type(name):
    return isinstance(name, str) and name in _REGISTRY


def spec(name) -> TaskTypeSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown task type {name!r}; known: {', '.join(_REGISTRY)}") from None


def _aliases():
    return {alias: s.name for s in _REGISTRY.values() for alias in s.aliases}


def unknown_type_problem(value):
    """What is wrong with a `task_type` value that names no registered type, for error messages."""
    return f"has unknown value {value!r}; expected one of {', '.join(_REGISTRY)}"


def canonical_name(text):
    """A type name as a model may write it ("Multiple choice", "`ner`") -> registry name or the cleaned text."""
    name = str(text).strip().strip("`'\"").lower().replace(" ", "_")
    return _aliases().get(name, name)


def default_metric(name):
    """The metric of a type's tasks when a record names none (unknown types: none)."""
    return _REGISTRY[name].default_metric if is_task_type(name) else ""


for _builtin in SHOPBENCH_TYPES:
    register(_builtin)
