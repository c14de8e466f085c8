"""The six ShopBench task types as specs: parts, assembly, the kit's parsers, metric."""

from shoplora.tasks import kit_answers, relevance
from shoplora.tasks.assembly import (
    distinct,
    numbered,
    one_correct,
    option_parts,
    shuffled,
    strict_object,
    text,
    texts,
)
from shoplora.tasks.spec import INTEGER, INTEGER_LIST, RELEVANCE, STRING, STRING_LIST, TaskTypeSpec

_QUESTION = "the request shown to the shopping assistant, before any options"
# Fewest distinct options a generated task may keep once repeats are removed.
MIN_RANKED = 3
MIN_IRRELEVANT = 2


def _ranked_numbers(response):
    """The kit's ranking reader: items <= 5, the first 5, and none at all when one repeats."""
    items = [v for v in kit_answers.numeric_items(response) if v <= 5][:5]
    return [] if len(set(items)) != len(items) else items


def _retrieved_numbers(response):
    return kit_answers.numeric_items(response)[:3]


def _choice_parts(correct_field, others_field):
    def build(question, options, answer):
        others = [o for n, o in options.items() if n != answer]
        return {"question": question, correct_field: options[answer], others_field: others}

    return lambda task: option_parts(task, build)


MULTIPLE_CHOICE = TaskTypeSpec(
    name="multiple-choice",
    label="a multiple-choice",
    answer=INTEGER,
    default_metric="accuracy",
    constrained=True,
    aliases=("multiple_choice",),
    parts_schema=strict_object(
        {
            "question": text(_QUESTION, 200, 15),
            "correct": text("the one correct option", 50),
            "wrong": texts("three wrong but plausible options", 50, 3, 3),
        }
    ),
    assemble=lambda parts, key: one_correct(
        parts, key, "correct", "wrong", min_options=3, last_line="Which number is correct? Give only that number."
    ),
    disassemble=_choice_parts("correct", "wrong"),
    parse_strict=kit_answers.first_digit,
    parse_lenient=kit_answers.first_integer_anywhere,
)

CLASSIFICATION = TaskTypeSpec(
    name="classification",
    label="a classification",
    answer=INTEGER,
    default_metric="accuracy",
    # Classification answers stay free: the KDD Cup 2024 winners constrained only the others.
    constrained=False,
    parts_schema=strict_object(
        {
            "question": text(_QUESTION + ": the text to classify and what to classify", 200, 15),
            "correct_label": text("the correct label", 30),
            "other_labels": texts("one to three other labels", 30, 1, 3),
        }
    ),
    assemble=lambda parts, key: one_correct(
        parts, key, "correct_label", "other_labels", min_options=2, last_line="Output only the matching number."
    ),
    disassemble=_choice_parts("correct_label", "other_labels"),
    parse_strict=kit_answers.first_digit,
    parse_lenient=kit_answers.first_integer_anywhere,
)


def _assemble_ranking(parts, key):
    best_first = distinct(parts["products_best_first"])
    if len(best_first) < MIN_RANKED:
        return None, "too_few_distinct_options"
    shown = shuffled(best_first, key)
    prompt = f"{parts['question']}\n{numbered(shown, 1)}\nGive the ranking as comma-separated numbers."
    return (prompt, [shown.index(name) + 1 for name in best_first]), None


def _ranking_parts(question, options, answer):
    return {"question": question, "products_best_first": [options[n] for n in answer]}


def _ranking_is_a_permutation(answer, options):
    if options and sorted(answer) != sorted(options):
        return "invalid:ranking_not_a_permutation"
    return None


RANKING = TaskTypeSpec(
    name="ranking",
    label="a ranking",
    answer=INTEGER_LIST,
    default_metric="ndcg",
    constrained=True,
    parts_schema=strict_object(
        {
            "question": text(_QUESTION + ": a shopper's need or query and what to rank", 200, 15),
            "products_best_first": texts("five product names, the best match first", 50, 5, 5),
        }
    ),
    assemble=_assemble_ranking,
    disassemble=lambda task: option_parts(task, _ranking_parts),
    parse_strict=_ranked_numbers,
    parse_lenient=lambda response: _ranked_numbers(kit_answers.numeric_items_anywhere(response)),
    check_answer=_ranking_is_a_permutation,
    # Task files may give relevance weights, as the official ShopBench files do.
    truth=RELEVANCE,
    check_truth=relevance.truth_problem,
    answer_of_truth=relevance.order_of,
    metric_truth=relevance.weights_of,
    problems=relevance.PROBLEMS,
)


def _assemble_retrieval(parts, key):
    relevant = distinct(parts["relevant"])
    irrelevant = distinct(parts["irrelevant"], exclude=relevant)
    if not relevant or len(irrelevant) < MIN_IRRELEVANT:
        return None, "too_few_distinct_options"
    shown = shuffled(relevant + irrelevant, key)
    prompt = f"{parts['question']}\n{numbered(shown, 1)}\nAnswer with their numbers separated by commas."
    return (prompt, sorted(shown.index(name) + 1 for name in relevant)), None


def _retrieval_parts(question, options, answer):
    return {
        "question": question,
        "relevant": [options[n] for n in answer],
        "irrelevant": [o for n, o in options.items() if n not in answer],
    }


def _no_repeated_item(answer, options):
    return "invalid:repeated_item" if len(set(answer)) != len(answer) else None


RETRIEVAL = TaskTypeSpec(
    name="retrieval",
    label="a retrieval",
    answer=INTEGER_LIST,
    default_metric="hit rate@3",
    constrained=True,
    parts_schema=strict_object(
        {
            "question": text(_QUESTION + ": a shopper's query and what to pick", 200, 15),
            "relevant": texts("one to three product names that match", 50, 1, 3),
            "irrelevant": texts("three to seven product names that do not match", 50, 3, 7),
        }
    ),
    assemble=_assemble_retrieval,
    disassemble=lambda task: option_parts(task, _retrieval_parts),
    parse_strict=_retrieved_numbers,
    parse_lenient=lambda response: _retrieved_numbers(kit_answers.numeric_items_anywhere(response)),
    check_answer=_no_repeated_item,
)


def _assemble_entities(parts, key):
    body = parts["text"]
    # An entity that is not in the text cannot be extracted from it: it is left out.
    entities = [e for e in distinct(parts["entities"]) if e.lower() in body.lower()]
    if not entities:
        return None, "no_entity_in_text"
    return (f"{body}\n{parts['question']}", entities), None


def _entity_parts(task):
    body, _, question = task["input_field"].strip().rpartition("\n")
    return {"entities": list(task["output_field"]), "text": body, "question": question} if body else None


NAMED_ENTITY_RECOGNITION = TaskTypeSpec(
    name="named_entity_recognition",
    label="an NER",
    answer=STRING_LIST,
    default_metric="micro f1",
    aliases=("ner",),
    # Entities first: a small model then writes a text that contains them, rather than a list
    # of entities its text never mentions.
    parts_schema=strict_object(
        {
            "entities": texts("one to four entities: brands, materials, colours or product types", 40, 1, 4),
            "text": text("a product listing or review sentence that contains every entity word for word", 200, 20),
            "question": text("which kind of entities to extract, and as a list", 100, 15),
        }
    ),
    assemble=_assemble_entities,
    disassemble=_entity_parts,
    parse_strict=kit_answers.string_list,
    parse_lenient=kit_answers.string_list_anywhere,
)


def _generation_parts(task):
    answer = task["output_field"]
    return {"instruction": task["input_field"], "answer": answer if isinstance(answer, str) else answer[0]}


GENERATION = TaskTypeSpec(
    name="generation",
    label="a generation",
    answer=STRING,
    default_metric="rougel",
    parts_schema=strict_object(
        {
            "instruction": text("a writing request about a product or a review", 200, 15),
            "answer": text("a good short answer to the request", 200, 10),
        }
    ),
    assemble=lambda parts, key: ((parts["instruction"], parts["answer"]), None),
    disassemble=_generation_parts,
    parse_strict=kit_answers.stripped,
    parse_lenient=kit_answers.stripped,
    study_extras=("bleu4", "rougel"),
)

# In the order the config schema and the tables list them.
SHOPBENCH_TYPES = (MULTIPLE_CHOICE, RANKING, RETRIEVAL, NAMED_ENTITY_RECOGNITION, GENERATION, CLASSIFICATION)
