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
# A ranking truth: relevance weights, or the candidate numbers best first (tasks/relevance.py).
RELEVANCE = "relevance"

FORM_WORDS = {
    INTEGER: "an integer (not a string)",
    INTEGER_LIST: "a list of integers",
    STRING_LIST: "a list of non-empty strings",
    STRING: "a string (or a list of reference strings)",
    RELEVANCE: "a list of numbers: one relevance weight per candidate, or the candidate numbers best first",
}
# The ShopBench metrics, and the truth form each compares an answer with: a row whose type's
# truth has another form would score 0 whatever the model answers.
METRIC_FORMS = {
    "accuracy": INTEGER,
    "hit rate@3": INTEGER_LIST,
    "ndcg": RELEVANCE,
    "micro f1": STRING_LIST,
    "rougel": STRING,
    "bleu": STRING,
    "jp-bleu": STRING,
    "sent-transformer": STRING,
    "multilingual-sent-transformer": STRING,
}
# What the kit's parsers fall back to when they cannot read an answer of each form.
FALLBACK_ANSWER = {INTEGER: -1, INTEGER_LIST: [], STRING_LIST: [], STRING: ""}


def _no_problem(answer, options):
    return None


def _same(value):
    return value


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

    A task file's `output_field` (the truth) may differ in form from what a model answers: a
    ranking's truth may be relevance weights. truth / check_truth: the truth's form and rule for
    task inputs (default: the answer's); a generated task's `output_field` is an answer.
    answer_of_truth(truth): the answer that scores best (what SFT teaches, what an example
    shows); metric_truth(truth): the truth as the type's metric reads it. `problems` gives each
    drop reason of check_answer/check_truth in words, for the errors of eval-set validation.
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
    truth: str = ""
    check_truth: Callable | None = None
    answer_of_truth: Callable = _same
    metric_truth: Callable = _same
    problems: dict = field(default_factory=dict)
    # The study's extra metrics for this type, reported beside its own (names in evaluation).
    study_extras: tuple = ()
    # Other spellings a model uses for the name, after lower-casing and spaces to underscores.
    aliases: tuple = ()
    # How the config docs name the type ("an NER answer").
    label: str = field(default="")

    @property
    def truth_form(self):
        return self.truth or self.answer

    def truth_problem(self, truth, options):
        return (self.check_truth or self.check_answer)(truth, options)

    @property
    def checkable(self):
        """An answer a metric compares exactly (not free text): the quality gate has such a task
        answered blind and scores the answers against the task's own."""
        return self.answer != STRING

    @property
    def fallback_answer(self):
        return FALLBACK_ANSWER[self.answer]

    def parse_failed(self, value):
        """An answer the kit cannot score as given: its fallback, for every form but free text."""
        return self.answer != STRING and value == self.fallback_answer
