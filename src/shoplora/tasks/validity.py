"""Whether a task record can be trained on, and its answer as the string the model learns."""

import json
import re

from shoplora.tasks.types import INTEGER, INTEGER_LIST, REQUIRED_FIELDS, STRING, STRING_LIST, TASK_TYPES, answer_form

_OPTION_LINE = re.compile(r"^\s*(\d+)[.)]\s+\S", re.MULTILINE)


def _option_numbers(prompt):
    return [int(n) for n in _OPTION_LINE.findall(prompt or "")]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _has_answer_form(answer, form):
    if form == INTEGER:
        return _is_int(answer)
    if form == INTEGER_LIST:
        return isinstance(answer, list) and all(_is_int(x) for x in answer)
    if form == STRING_LIST:
        return isinstance(answer, list) and all(isinstance(x, str) and x.strip() for x in answer)
    return form == STRING and isinstance(answer, str)


def invalid_reason(rec):
    """Why a task record cannot be used for training, or None when it is valid."""
    for field in REQUIRED_FIELDS:
        value = rec.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return f"null:{field}"
        if isinstance(value, list) and not value:
            return f"null:{field}"
    task_type, answer = rec["task_type"], rec["output_field"]
    if task_type not in TASK_TYPES:
        return "invalid:task_type"
    form = answer_form(task_type)
    if not _has_answer_form(answer, form):
        return "invalid:output_type"
    options = _option_numbers(rec["input_field"])
    if form == INTEGER and options and answer not in options:
        return "invalid:answer_not_an_option"
    if form == INTEGER_LIST:
        if options and any(x not in options for x in answer):
            return "invalid:answer_out_of_range"
        if task_type == "ranking" and options and sorted(answer) != sorted(options):
            return "invalid:ranking_not_a_permutation"
        if task_type == "retrieval" and len(set(answer)) != len(answer):
            return "invalid:repeated_item"
    return None


def answer_text(answer):
    """The answer as the string the model is trained to produce (LLaMA-Factory needs strings)."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(_is_int(x) for x in answer):
        return ",".join(str(x) for x in answer)
    return json.dumps(answer, ensure_ascii=False)


def eval_answer_problem(rec):
    """Why an eval row's answer cannot be scored as its task type expects, or None.

    Looser than `invalid_reason`, because official eval sets are used unchanged: a generation
    answer may be a list of references, and a ranking truth need not be a permutation.
    """
    task_type, answer = rec["task_type"], rec["output_field"]
    form = answer_form(task_type)
    if form == STRING and isinstance(answer, list) and answer and all(isinstance(a, str) for a in answer):
        return None
    if not _has_answer_form(answer, form):
        return f"is {answer!r}, but a {task_type} answer must be {FORM_WORDS[form]}"
    options = _option_numbers(rec["input_field"])
    if options and form == INTEGER and answer not in options:
        return f"is {answer}, which is not one of the options {options}"
    return None


FORM_WORDS = {
    INTEGER: "an integer (not a string)",
    INTEGER_LIST: "a list of integers",
    STRING_LIST: "a list of non-empty strings",
    STRING: "a string (or a list of reference strings)",
}
