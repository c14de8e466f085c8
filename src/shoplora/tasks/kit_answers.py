"""Reading an answer from a response, as the KDD Cup 2024 starter kit's `parsers.py` does.

Quirks included, so that scores equal the leaderboard's:
- the first character after stripping whitespace, as an integer, else -1 (a Unicode digit
  such as "²" that `int` refuses gives -1);
- numeric lists: keep the characters for which `str.isnumeric()` holds, commas and spaces;
  split on commas; each piece that `int()` reads is an item (a piece with a kanji numeral or
  "½" is dropped whole);
- string lists: the response as it is (not stripped) read as a Python literal; a list of
  strings is the answer; anything else, or any error, splits on commas instead, stripping each
  piece and dropping empty ones.
The lenient readers find the same answers anywhere in a chatty response ("Answer: 2").
"""

import ast
import re

_INT_RE = re.compile(r"-?\d+")


def first_digit(response):
    try:
        return int(response.strip()[0])
    except (ValueError, IndexError):
        return -1


def numeric_items(response):
    kept = "".join(ch for ch in response if ch.isnumeric() or ch in ", ")
    items = []
    for piece in kept.split(","):
        try:
            items.append(int(piece))
        except ValueError:
            continue
    return items


def string_list(response):
    try:
        value = ast.literal_eval(response)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    except Exception:  # noqa: BLE001 - the kit falls back on any error (TypeError for "{['a']}")
        pass
    return [piece.strip() for piece in response.split(",") if piece.strip()]


def stripped(response):
    return response.strip()


def integers_anywhere(response):
    return [int(n) for n in _INT_RE.findall(response)]


def first_integer_anywhere(response):
    numbers = [n for n in integers_anywhere(response) if n >= 0]
    return numbers[0] if numbers else -1


def numeric_items_anywhere(response):
    """Every integer in the text, joined as the kit's list reader expects."""
    return ",".join(str(n) for n in integers_anywhere(response))


def string_list_anywhere(response):
    match = re.search(r"\[.*?\]", response, flags=re.DOTALL)
    return string_list(match.group(0) if match else response)
