"""Whether a task record can be trained on, and its answer as the string the model learns."""

import json
import re

from shoplora.tasks.relevance import is_number
from shoplora.tasks.spec import FORM_WORDS, INTEGER, INTEGER_LIST, METRIC_FORMS, RELEVANCE, STRING, STRING_LIST
from shoplora.tasks.types import REQUIRED_FIELDS, is_task_type, spec

_OPTION_LINE = re.compile(r"^\s*(\d+)[.)]\s+\S", re.MULTILINE)
# Control characters other than tab and line breaks: no prompt or answer means them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _missing(value):
    """None, NaN (a cell a table lacks), or text with nothing printable in it."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return isinstance(value, str) and not _CONTROL.sub("", value).strip()


def option_numbers(prompt):
    """The option numbers a prompt lists, one per `N. ...` line."""
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
    if form == RELEVANCE:
        return isinstance(answer, list) and all(is_number(x) for x in answer)
    return form == STRING and isinstance(answer, str)


def invalid_reason(rec, generated=False):
    """Why a task record cannot be used for training, or None when it is valid.

    generated: the record is a model's output, so its `output_field` must be an answer (a
    ranking an order, not weights); task inputs may hold any truth their type accepts.
    """
    for field in REQUIRED_FIELDS:
        value = rec.get(field)
        if _missing(value) or (isinstance(value, list) and not value):
            return f"null:{field}"
    if not is_task_type(rec["task_type"]):
        return "invalid:task_type"
    if not isinstance(rec["input_field"], str):
        return "invalid:input_type"
    if _CONTROL.search(rec["input_field"]):
        return "invalid:control_character"
    task_spec, answer = spec(rec["task_type"]), rec["output_field"]
    form = task_spec.answer if generated else task_spec.truth_form
    if not _has_answer_form(answer, form):
        return "invalid:output_type"
    options = option_numbers(rec["input_field"])
    if form == INTEGER and options and answer not in options:
        return "invalid:answer_not_an_option"
    if form == INTEGER_LIST and options and any(x not in options for x in answer):
        return "invalid:answer_out_of_range"
    return task_spec.check_answer(answer, options) if generated else task_spec.truth_problem(answer, options)


def target_text(task):
    """A task's answer as the string the model is trained to produce (LLaMA-Factory needs
    strings): the answer its truth calls for (a ranking's order, when the truth is weights)."""
    return answer_text(spec(task["task_type"]).answer_of_truth(task["output_field"]))


def answer_text(answer):
    """An answer as a string: text as is, integers joined by commas, anything else as JSON."""
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and all(_is_int(x) for x in answer):
        return ",".join(str(x) for x in answer)
    return json.dumps(answer, ensure_ascii=False)


def eval_row_problem(rec):
    """What stops an eval row from being scored as its task type and metric expect, as
    "field '...' ...", or None.

    Looser than `invalid_reason`, because official eval sets are used unchanged: a generation
    answer may be a list of references. A ranking truth is held to its type's rule (weights one
    per candidate, none negative; an order lists every candidate).
    """
    task_type, answer = rec["task_type"], rec["output_field"]
    task_spec = spec(task_type)
    form = task_spec.truth_form
    metric = rec.get("metric")
    if metric is not None:
        if metric not in METRIC_FORMS:
            return f"field 'metric' has unknown value {metric!r}; expected one of {', '.join(METRIC_FORMS)}"
        if METRIC_FORMS[metric] != form:
            return (
                f"field 'metric' is {metric!r}, which scores {FORM_WORDS[METRIC_FORMS[metric]]}, but a "
                f"{task_type} answer is {FORM_WORDS[form]}"
            )
    if form == STRING and isinstance(answer, list) and answer and all(isinstance(a, str) for a in answer):
        return None
    if not _has_answer_form(answer, form):
        return f"field 'output_field' is {answer!r}, but a {task_type} answer must be {FORM_WORDS[form]}"
    if isinstance(answer, list) and not answer and form in (INTEGER_LIST, RELEVANCE):
        return f"field 'output_field' is [], but a {task_type} answer must not be empty"
    options = option_numbers(rec.get("input_field"))
    if options and form == INTEGER and answer not in options:
        return f"field 'output_field' is {answer}, which is not one of the options {options}"
    reason = task_spec.check_truth(answer, options) if task_spec.check_truth else None
    if reason:
        shown = f" (the prompt lists {len(options)})" if options else ""
        return f"field 'output_field' is {answer!r}, but {task_spec.problems.get(reason, reason)}{shown}"
    return None
