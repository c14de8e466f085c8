"""The one registry of ShopBench task types: answer form, default metric, constrained decoding.

Every other place that needs a fact about a task type (validity, answer text, task-set
answers, generated-task parsing, constrained decoding, the config schema's enum) reads it here.
"""

from dataclasses import dataclass

REQUIRED_FIELDS = ("input_field", "output_field", "task_type")

# Answer forms: what `output_field` holds for a task type.
INTEGER = "integer"
INTEGER_LIST = "integer_list"
STRING_LIST = "string_list"
STRING = "string"


@dataclass(frozen=True)
class TaskType:
    name: str
    answer: str
    default_metric: str
    # Constrained decoding may restrict answers to digits, commas and spaces (as the KDD Cup
    # 2024 winners did for these types; classification answers stay free there).
    constrained: bool


REGISTRY = {
    t.name: t
    for t in (
        TaskType("multiple-choice", INTEGER, "accuracy", True),
        TaskType("ranking", INTEGER_LIST, "ndcg", True),
        TaskType("retrieval", INTEGER_LIST, "hit rate@3", True),
        TaskType("named_entity_recognition", STRING_LIST, "micro f1", False),
        TaskType("generation", STRING, "rougel", False),
        TaskType("classification", INTEGER, "accuracy", False),
    )
}
TASK_TYPES = tuple(REGISTRY)
# The metric whose task score pools the rows' counts instead of averaging row scores.
POOLED_METRIC = "micro f1"
DEFAULT_METRIC = {name: t.default_metric for name, t in REGISTRY.items()}
CONSTRAINED_TASK_TYPES = tuple(name for name, t in REGISTRY.items() if t.constrained)
# Spellings LLMs use for a type name, after lower-casing and spaces to underscores.
ALIASES = {"multiple_choice": "multiple-choice", "ner": "named_entity_recognition"}


def answer_form(task_type):
    return REGISTRY[task_type].answer


def canonical_name(text):
    """A type name as a model may write it ("Multiple choice", "`ner`") -> registry name or the cleaned text."""
    name = str(text).strip().strip("`'\"").lower().replace(" ", "_")
    return ALIASES.get(name, name)
