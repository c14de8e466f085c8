"""Answer parsing: the KDD Cup 2024 starter kit's rules (strict), and a lenient mode for base models.

A response is cut to its first 5,000 characters, as the kit does, then read by its task type's
parser (`tasks/kit_answers.py` states the kit's rules, quirks included). `parse` never raises:
a parser that fails gives the kit's fallback answer for the type and a reason.
"""

from shoplora.tasks.types import spec

MAX_RESPONSE_CHARS = 5000


def parse_with_reason(task_type, response, mode="strict"):
    """(parsed answer, parse failed, reason or None). Never raises."""
    task_spec = spec(task_type)
    if not isinstance(response, str):
        return task_spec.fallback_answer, True, f"response is {type(response).__name__}, not text"
    response = response[:MAX_RESPONSE_CHARS]
    parser = task_spec.parse_lenient if mode == "lenient" else task_spec.parse_strict
    try:
        value = parser(response)
    except Exception as err:  # noqa: BLE001 - one odd answer must not stop a whole evaluation
        return task_spec.fallback_answer, True, f"parser error: {type(err).__name__}: {err}"[:300]
    failed = task_spec.parse_failed(value)
    return value, failed, ("no answer found" if failed else None)


def parse(task_type, response, mode="strict"):
    """(parsed answer, parse_failed)."""
    value, is_failed, _ = parse_with_reason(task_type, response or "", mode)
    return value, is_failed
