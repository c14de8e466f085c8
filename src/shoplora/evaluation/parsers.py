"""Answer parsing: the KDD Cup 2024 starter kit's rules (strict), and a lenient mode for base models.

Strict mode is the kit's `parsers.py` restated, quirks included, so that scores equal the
leaderboard's:
- a response is cut to its first 5,000 characters before anything else;
- multiple-choice: the first character after stripping whitespace, as an integer, else -1
  (any failure, a Unicode digit such as "²" that `int` refuses included, gives -1);
- ranking and retrieval: keep the characters for which `str.isnumeric()` holds, commas and
  spaces; split on commas; each piece that `int()` reads is an item (a piece with a kanji
  numeral or "½" is dropped whole); ranking keeps items <= 5, the first 5, and gives [] when
  one repeats; retrieval keeps the first 3;
- named-entity recognition: the response as it is (not stripped) read as a Python literal; a
  list of strings is the answer; anything else, or any error, splits on commas instead,
  stripping each piece and dropping empty ones;
- generation: the response stripped.

`parse` never raises: a parser that fails gives the kit's default for the type and a reason.
"""

import ast
import re

MAX_RESPONSE_CHARS = 5000
_INT_RE = re.compile(r"-?\d+")
# What the kit falls back to when a parser fails.
DEFAULT = {"multiple-choice": -1, "classification": -1, "ranking": [], "retrieval": [], "named_entity_recognition": []}


def _numeric_items(response):
    kept = "".join(ch for ch in response if ch.isnumeric() or ch in ", ")
    items = []
    for piece in kept.split(","):
        try:
            items.append(int(piece))
        except ValueError:
            continue
    return items


def parse_multiple_choice(response):
    try:
        return int(response.strip()[0])
    except (ValueError, IndexError):
        return -1


def parse_ranking(response):
    items = [v for v in _numeric_items(response) if v <= 5][:5]
    return [] if len(set(items)) != len(items) else items


def parse_retrieval(response):
    return _numeric_items(response)[:3]


def parse_ner(response):
    try:
        value = ast.literal_eval(response)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    except Exception:  # noqa: BLE001 - the kit falls back on any error (TypeError for "{['a']}")
        pass
    return [piece.strip() for piece in response.split(",") if piece.strip()]


def parse_generation(response):
    return response.strip()


STRICT = {
    "multiple-choice": parse_multiple_choice,
    "classification": parse_multiple_choice,
    "ranking": parse_ranking,
    "retrieval": parse_retrieval,
    "named_entity_recognition": parse_ner,
    "generation": parse_generation,
}


def _lenient_numbers(response):
    return [int(n) for n in _INT_RE.findall(response)]


def parse_lenient(task_type, response):
    """Like the kit's rules, but find answers anywhere in the text ("Answer: 2" -> 2)."""
    if task_type in ("multiple-choice", "classification"):
        numbers = [n for n in _lenient_numbers(response) if n >= 0]
        return numbers[0] if numbers else -1
    if task_type in ("ranking", "retrieval"):
        return STRICT[task_type](",".join(str(n) for n in _lenient_numbers(response)))
    if task_type == "named_entity_recognition":
        match = re.search(r"\[.*?\]", response, flags=re.DOTALL)
        return parse_ner(match.group(0) if match else response)
    return parse_generation(response)


def failed(task_type, value):
    """An answer the kit cannot score as given: -1, or an empty list outside generation."""
    return value == -1 or (isinstance(value, list) and not value and task_type != "generation")


def parse_with_reason(task_type, response, mode="strict"):
    """(parsed answer, parse failed, reason or None). Never raises."""
    if not isinstance(response, str):
        return DEFAULT.get(task_type, ""), True, f"response is {type(response).__name__}, not text"
    response = response[:MAX_RESPONSE_CHARS]
    parser = (lambda r: parse_lenient(task_type, r)) if mode == "lenient" else STRICT[task_type]
    try:
        value = parser(response)
    except Exception as err:  # noqa: BLE001 - one odd answer must not stop a whole evaluation
        return DEFAULT.get(task_type, ""), True, f"parser error: {type(err).__name__}: {err}"[:300]
    return value, failed(task_type, value), ("no answer found" if failed(task_type, value) else None)


def parse(task_type, response, mode="strict"):
    """(parsed answer, parse_failed)."""
    value, is_failed, _ = parse_with_reason(task_type, response or "", mode)
    return value, is_failed
