"""The parts a generated task is asked for, per task type, and their assembly into a task.

A model is never asked to write a whole ShopBench prompt and its answer index: it writes the
parts (a question, the correct option, the wrong ones ...) as JSON, and `assemble` builds the
`input_field`/`output_field` of the seed tasks from them. Options are shuffled here, so an
answer is within its options and a ranking is a permutation by construction. Repeated
options are left out (a small model repeats itself); a task left with too few is dropped.

Strings have length bounds: a small model under a grammar otherwise fills its whole token
budget with one string.
"""

import hashlib
import json
import random
import re


def _text(description, max_length, min_length=1):
    return {"type": "string", "minLength": min_length, "maxLength": max_length, "description": description}


def _texts(description, max_length, min_items, max_items):
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": max_length},
        "minItems": min_items,
        "maxItems": max_items,
        "description": description,
    }


def _object(properties):
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


# One schema per task type; the field descriptions are also the prompt's format instructions.
_QUESTION = "the request shown to the shopping assistant, before any options"
PART_SCHEMAS = {
    "multiple-choice": _object(
        {
            "question": _text(_QUESTION, 200, 15),
            "correct": _text("the one correct option", 50),
            "wrong": _texts("three wrong but plausible options", 50, 3, 3),
        }
    ),
    "ranking": _object(
        {
            "question": _text(_QUESTION + ": a shopper's need or query and what to rank", 200, 15),
            "products_best_first": _texts("five product names, the best match first", 50, 5, 5),
        }
    ),
    "retrieval": _object(
        {
            "question": _text(_QUESTION + ": a shopper's query and what to pick", 200, 15),
            "relevant": _texts("one to three product names that match", 50, 1, 3),
            "irrelevant": _texts("three to seven product names that do not match", 50, 3, 7),
        }
    ),
    # Entities first: a small model then writes a text that contains them, rather than a list
    # of entities its text never mentions.
    "named_entity_recognition": _object(
        {
            "entities": _texts("one to four entities: brands, materials, colours or product types", 40, 1, 4),
            "text": _text("a product listing or review sentence that contains every entity word for word", 200, 20),
            "question": _text("which kind of entities to extract, and as a list", 100, 15),
        }
    ),
    "generation": _object(
        {
            "instruction": _text("a writing request about a product or a review", 200, 15),
            "answer": _text("a good short answer to the request", 200, 10),
        }
    ),
    "classification": _object(
        {
            "question": _text(_QUESTION + ": the text to classify and what to classify", 200, 15),
            "correct_label": _text("the correct label", 30),
            "other_labels": _texts("one to three other labels", 30, 1, 3),
        }
    ),
}

RESPONSE_NAME = "shopbench_tasks"


def response_schema(task_type, n_tasks):
    """The JSON schema of one response: exactly `n_tasks` tasks of one type, as parts."""
    return _object(
        {"tasks": {"type": "array", "items": PART_SCHEMAS[task_type], "minItems": n_tasks, "maxItems": n_tasks}}
    )


def describe_parts(task_type):
    """The parts as prompt text, from the schema's own descriptions."""
    lines = []
    for name, spec in PART_SCHEMAS[task_type]["properties"].items():
        kind = "list of strings" if spec["type"] == "array" else "string"
        lines.append(f'- "{name}" ({kind}): {spec["description"]}')
    return "\n".join(lines)


def _shuffled(items, key):
    """A deterministic shuffle: the same parts always give the same task."""
    order = list(items)
    random.Random(hashlib.sha256(key.encode()).hexdigest()).shuffle(order)
    return order


def _numbered(items, start):
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start))


_ENUMERATION = re.compile(r"^\s*(?:\d+|[A-Da-d])[.):]\s+")


def _clean(option):
    """An option as one line without the numbering a model copies from the examples ("2. ...")."""
    return " ".join(_ENUMERATION.sub("", option).split())


def _distinct(options, exclude=()):
    """Cleaned options with repeats (and any of `exclude`) left out, first occurrence kept."""
    seen, kept = {o.lower() for o in exclude}, []
    for option in map(_clean, options):
        if option and option.lower() not in seen:
            seen.add(option.lower())
            kept.append(option)
    return kept


# Fewest distinct options a task may keep after repeats are removed.
MIN_OPTIONS = {"multiple-choice": 3, "ranking": 3, "classification": 2}
MIN_IRRELEVANT = 2


def _one_correct(parts, key, correct_field, others_field, min_options, last_line):
    """A question with numbered options from 0, one of them correct (multiple-choice, classification)."""
    correct = _clean(parts[correct_field])
    options = [correct, *_distinct(parts[others_field], exclude=[correct])]
    if not correct or len(options) < min_options:
        return None, "too_few_distinct_options"
    options = _shuffled(options, key)
    return (f"{parts['question']}\n{_numbered(options, 0)}\n{last_line}", options.index(correct)), None


def _multiple_choice(parts, key):
    return _one_correct(
        parts,
        key,
        "correct",
        "wrong",
        MIN_OPTIONS["multiple-choice"],
        "Which number is correct? Give only that number.",
    )


def _ranking(parts, key):
    best_first = _distinct(parts["products_best_first"])
    if len(best_first) < MIN_OPTIONS["ranking"]:
        return None, "too_few_distinct_options"
    shown = _shuffled(best_first, key)
    prompt = f"{parts['question']}\n{_numbered(shown, 1)}\nGive the ranking as comma-separated numbers."
    return (prompt, [shown.index(name) + 1 for name in best_first]), None


def _retrieval(parts, key):
    relevant = _distinct(parts["relevant"])
    irrelevant = _distinct(parts["irrelevant"], exclude=relevant)
    if not relevant or len(irrelevant) < MIN_IRRELEVANT:
        return None, "too_few_distinct_options"
    shown = _shuffled(relevant + irrelevant, key)
    prompt = f"{parts['question']}\n{_numbered(shown, 1)}\nAnswer with their numbers separated by commas."
    return (prompt, sorted(shown.index(name) + 1 for name in relevant)), None


def _named_entities(parts, key):
    text = parts["text"]
    # An entity that is not in the text cannot be extracted from it: it is left out.
    entities = [e for e in _distinct(parts["entities"]) if e.lower() in text.lower()]
    if not entities:
        return None, "no_entity_in_text"
    return (f"{text}\n{parts['question']}", entities), None


def _generation(parts, key):
    return (parts["instruction"], parts["answer"]), None


def _classification(parts, key):
    return _one_correct(
        parts, key, "correct_label", "other_labels", MIN_OPTIONS["classification"], "Output only the matching number."
    )


_ASSEMBLERS = {
    "multiple-choice": _multiple_choice,
    "ranking": _ranking,
    "retrieval": _retrieval,
    "named_entity_recognition": _named_entities,
    "generation": _generation,
    "classification": _classification,
}


def assemble(task_type, parts):
    """(input_field, output_field) built from schema-valid parts, or (None, reason)."""
    key = json.dumps([task_type, parts], sort_keys=True, ensure_ascii=False)
    return _ASSEMBLERS[task_type](parts, key)


_OPTION = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")


def _split_options(prompt):
    """(lines before the options, {number: option}, lines after) of a ShopBench prompt."""
    lines = prompt.split("\n")
    numbered = [i for i, line in enumerate(lines) if _OPTION.match(line)]
    if not numbered:
        return prompt.strip(), {}, ""
    options = {
        int(m.group(1)): m.group(2).strip() for m in map(_OPTION.match, lines[numbered[0] : numbered[-1] + 1]) if m
    }
    return "\n".join(lines[: numbered[0]]).strip(), options, "\n".join(lines[numbered[-1] + 1 :])


def disassemble(task):
    """A seed task as the parts of its type (the inverse of `assemble`), shown as an example
    in JSON prompts; None when the prompt has not the shape the type needs."""
    task_type, answer = task["task_type"], task["output_field"]
    before, options, _ = _split_options(task["input_field"])
    if task_type == "generation":
        return {"instruction": task["input_field"], "answer": answer if isinstance(answer, str) else answer[0]}
    if task_type == "named_entity_recognition":
        text, _, question = task["input_field"].strip().rpartition("\n")
        return {"entities": list(answer), "text": text, "question": question} if text else None
    if not options:
        return None
    try:
        if task_type == "multiple-choice":
            wrong = [o for n, o in options.items() if n != answer]
            return {"question": before, "correct": options[answer], "wrong": wrong}
        if task_type == "classification":
            others = [o for n, o in options.items() if n != answer]
            return {"question": before, "correct_label": options[answer], "other_labels": others}
        if task_type == "ranking":
            return {"question": before, "products_best_first": [options[n] for n in answer]}
        if task_type == "retrieval":
            return {
                "question": before,
                "relevant": [options[n] for n in answer],
                "irrelevant": [o for n, o in options.items() if n not in answer],
            }
    except (KeyError, TypeError):
        return None
    return None
