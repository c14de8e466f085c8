"""Building blocks for a task type's parts schema and its assemble/disassemble functions.

A model is never asked to write a whole ShopBench prompt and its answer index: it writes the
parts (a question, the correct option, the wrong ones ...) as JSON, and a type's `assemble`
builds `input_field`/`output_field` from them. Options are shuffled here, so an answer is
within its options and a ranking is a permutation by construction. Repeated options are left
out (a small model repeats itself); a task left with too few is dropped.

Strings have length bounds: a small model under a grammar otherwise fills its whole token
budget with one string.
"""

import hashlib
import random
import re


def text(description, max_length, min_length=1):
    return {"type": "string", "minLength": min_length, "maxLength": max_length, "description": description}


def texts(description, max_length, min_items, max_items):
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": max_length},
        "minItems": min_items,
        "maxItems": max_items,
        "description": description,
    }


def strict_object(properties):
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def shuffled(items, key):
    """A deterministic shuffle: the same parts always give the same task."""
    order = list(items)
    random.Random(hashlib.sha256(key.encode()).hexdigest()).shuffle(order)
    return order


def numbered(items, start):
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start))


_ENUMERATION = re.compile(r"^\s*(?:\d+|[A-Da-d])[.):]\s+")


def clean(option):
    """An option as one line without the numbering a model copies from the examples ("2. ...")."""
    return " ".join(_ENUMERATION.sub("", option).split())


def distinct(options, exclude=()):
    """Cleaned options with repeats (and any of `exclude`) left out, first occurrence kept."""
    seen, kept = {o.lower() for o in exclude}, []
    for option in map(clean, options):
        if option and option.lower() not in seen:
            seen.add(option.lower())
            kept.append(option)
    return kept


def one_correct(parts, key, correct_field, others_field, min_options, last_line):
    """A question with numbered options from 0, one of them correct (multiple-choice, classification)."""
    correct = clean(parts[correct_field])
    options = [correct, *distinct(parts[others_field], exclude=[correct])]
    if not correct or len(options) < min_options:
        return None, "too_few_distinct_options"
    options = shuffled(options, key)
    return (f"{parts['question']}\n{numbered(options, 0)}\n{last_line}", options.index(correct)), None


_OPTION = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")


def split_options(prompt):
    """(lines before the options, {number: option}, lines after) of a ShopBench prompt."""
    lines = prompt.split("\n")
    marked = [i for i, line in enumerate(lines) if _OPTION.match(line)]
    if not marked:
        return prompt.strip(), {}, ""
    options = {int(m.group(1)): m.group(2).strip() for m in map(_OPTION.match, lines[marked[0] : marked[-1] + 1]) if m}
    return "\n".join(lines[: marked[0]]).strip(), options, "\n".join(lines[marked[-1] + 1 :])


def option_parts(task, build):
    """`build(question, options, answer)` for a task whose prompt lists numbered options, or
    None when it lists none or its answer does not fit them."""
    before, options, _ = split_options(task["input_field"])
    if not options:
        return None
    try:
        return build(before, options, task["output_field"])
    except (KeyError, TypeError):
        return None
