"""`TaskTypeSpec`: everything shoplora knows about one task type, in one object.

Generation (the parts a model is asked for and their assembly into a task), validity, answer
parsing, scoring and the config schema's task-type lists all read a type's spec; adding a type
is one `register` call (see `registry`) plus a prompt template.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

# Answer forms: what `output_field` holds for a task type.
INTEGER = "integer"
INTEGER_LIST = "integer_list"
STRING_LIST = "string_list"
STRING = "string"

FORM_WORDS = {
    INTEGER: "an integer (not a string)",
    INTEGER_LIST: "a list of integers",
    STRING_LIST: "a list of non-empty strings",
    STRING: "a string (or a list of reference strings)",
}
# What the kit's parsers fall back to when they cannot read an answer of each form.
FALLBACK_ANSWER = {INTEGER: -1, INTEGER_LIST: [], STRING_LIST: [], STRING: ""}


def _no_problem(answer, options):
    return None


@dataclass(frozen=True)
class TaskTypeSpec:
    """One task type. Callables are plain functions, so a spec is cheap to build in a test.

    assemble(parts, key) -> ((input_field, output_field), None) or (None, reason): a task from
    schema-valid parts; `key` seeds any shuffle, so the same parts give the same task.
    disassemble(task) -> parts or None: a seed task shown as parts (the inverse of assemble).
    parse_strict / parse_lenient(response) -> answer: the kit's reading, and one that finds the
    answer anywhere in the text; both may raise (the caller gives the fallback answer).
    check_answer(answer, option_numbers) -> reason or None: a type's own validity rule, beyond
    the answer form and "an integer answer is one of the options".
    """

    name: str
    answer: str
    default_metric: str
    parts_schema: dict
    assemble: Callable
    disassemble: Callable
    parse_strict: Callable
    parse_lenient: Callable
    # Constrained decoding may restrict answers to digits, commas and spaces (as the KDD Cup
    # 2024 winners did for multiple-choice, ranking and retrieval).
    constrained: bool = False
    max_new_tokens: int = 64
    check_answer: Callable = _no_problem
    # The study's extra metrics for this type, reported beside its own (names in evaluation).
    study_extras: tuple = ()
    # Other spellings a model uses for the name, after lower-casing and spaces to underscores.
    aliases: tuple = ()
    # How the config docs name the type ("an NER answer").
    label: str = field(default="")

    @property
    def fallback_answer(self):
        return FALLBACK_ANSWER[self.answer]

    def parse_failed(self, value):
        """An answer the kit cannot score as given: its fallback, for every form but free text."""
        return self.answer != STRING and value == self.fallback_answer
