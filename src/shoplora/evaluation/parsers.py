"""Answer parsing: the official ShopBench rules, plus a lenient mode for base models."""

import ast
import re

MAX_RESPONSE_CHARS = 5000
_INT_RE = re.compile(r"-?\d+")


def _clean_list_text(response):
    return "".join(ch for ch in response if ch.isdigit() or ch in ", ")


def _int_pieces(text):
    out = []
    for piece in text.split(","):
        try:
            out.append(int(piece))
        except ValueError:
            continue
    return out


def parse_multiple_choice(response):
    response = response[:MAX_RESPONSE_CHARS].strip()
    return int(response[0]) if response and response[0].isdigit() else -1


def parse_ranking(response):
    values = [v for v in _int_pieces(_clean_list_text(response[:MAX_RESPONSE_CHARS])) if v <= 5][:5]
    return [] if len(set(values)) != len(values) else values


def parse_retrieval(response):
    return _int_pieces(_clean_list_text(response[:MAX_RESPONSE_CHARS]))[:3]


def parse_ner(response):
    response = response[:MAX_RESPONSE_CHARS].strip()
    try:
        value = ast.literal_eval(response)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    return [piece.strip() for piece in response.split(",") if piece.strip()]


def parse_generation(response):
    return response[:MAX_RESPONSE_CHARS].strip()


STRICT = {
    "multiple-choice": parse_multiple_choice,
    "classification": parse_multiple_choice,
    "ranking": parse_ranking,
    "retrieval": parse_retrieval,
    "named_entity_recognition": parse_ner,
    "generation": parse_generation,
}


def _lenient_numbers(response):
    return [int(n) for n in _INT_RE.findall(response[:MAX_RESPONSE_CHARS])]


def parse_lenient(task_type, response):
    """Like the official rules, but find numbers anywhere ("Answer: 2" -> 2)."""
    if task_type in ("multiple-choice", "classification"):
        numbers = [n for n in _lenient_numbers(response) if n >= 0]
        return numbers[0] if numbers else -1
    if task_type in ("ranking", "retrieval"):
        return STRICT[task_type](",".join(str(n) for n in _lenient_numbers(response)))
    if task_type == "named_entity_recognition":
        match = re.search(r"\[.*?\]", response[:MAX_RESPONSE_CHARS], flags=re.DOTALL)
        return parse_ner(match.group(0) if match else response)
    return parse_generation(response)


def parse(task_type, response, mode="strict"):
    """(parsed answer, parse_failed)."""
    response = response or ""
    value = parse_lenient(task_type, response) if mode == "lenient" else STRICT[task_type](response)
    failed = value == -1 or (isinstance(value, list) and not value and task_type != "generation")
    return value, failed
