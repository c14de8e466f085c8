"""A seventh task type, registered in one place (plus a prompt template), goes through request
building, generation parsing, curation and scoring without any other code knowing about it."""

import io
import json

import pytest

from shoplora.config.schema import section_defaults
from shoplora.curation.curate import curate
from shoplora.generation.parse import parse_responses
from shoplora.generation.prompts import build_requests
from shoplora.scoring.kit import score_predictions
from shoplora.tasks import types
from shoplora.tasks.assembly import strict_object, text
from shoplora.tasks.records import TaskFormatError, load_tasks
from shoplora.tasks.spec import STRING, TaskTypeSpec

QUESTION = "Is this review positive or negative?"


def _first_word(response):
    words = response.strip().lower().split()
    return words[0].strip(".,!") if words else ""


def _sentiment_parts(task):
    review, _, question = task["input_field"].rpartition("\n")
    return {"review": review, "sentiment": task["output_field"]} if question == QUESTION else None


SENTIMENT = TaskTypeSpec(
    name="review_sentiment",
    answer=STRING,
    default_metric="accuracy",
    parts_schema=strict_object(
        {
            "review": text("a short product review", 200, 10),
            "sentiment": {"type": "string", "enum": ["positive", "negative"], "description": "its sentiment"},
        }
    ),
    assemble=lambda parts, key: ((f"{parts['review']}\n{QUESTION}", parts["sentiment"]), None),
    disassemble=_sentiment_parts,
    parse_strict=_first_word,
    parse_lenient=lambda response: next(
        (w for w in ("positive", "negative") if w in response.lower()), _first_word(response)
    ),
    aliases=("sentiment",),
)


@pytest.fixture
def sentiment_type():
    types.register(SENTIMENT)
    yield SENTIMENT.name
    types.unregister(SENTIMENT.name)


def _seed(review, sentiment):
    return {"input_field": f"{review}\n{QUESTION}", "output_field": sentiment, "task_type": "review_sentiment"}


def test_a_toy_type_runs_through_generation_curation_and_scoring(sentiment_type, tmp_path):
    # Seeds load like any ShopBench file: the registry knows the type, so strict loading accepts it.
    seed_file = tmp_path / "seeds.jsonl"
    seed_file.write_text(
        "\n".join(
            json.dumps(s)
            for s in (
                _seed("The kettle boils fast and looks great on the counter.", "positive"),
                _seed("The zipper broke after two days and the seller never answered.", "negative"),
            )
        )
    )
    seeds = load_tasks(seed_file, "seed")
    assert [s["metric"] for s in seeds] == ["accuracy", "accuracy"]

    # Requests: the template is the only other file a type needs.
    template = "Write {n} new tasks like these {k} examples.\n{examples}\n{format}"
    provider = section_defaults(
        "generation",
        "providers",
        "*",
        name="toy",
        kind="openai",
        model="m",
        base_url="http://x/v1",
        num_requests=2,
        tasks_per_request=3,
        seed_examples_per_prompt=1,
        task_mix={sentiment_type: 1},
    )
    requests = build_requests(provider, seeds, {sentiment_type: template})
    assert {r["task_type"] for r in requests} == {sentiment_type} and len(requests) == 2
    items = requests[0]["response_format"]["json_schema"]["schema"]["properties"]["tasks"]
    assert items["items"] == SENTIMENT.parts_schema and items["minItems"] == 3
    assert '"review"' in requests[0]["messages"][0]["content"]  # seeds shown as their parts

    # Generation parsing: a JSON response in parts, and the study's text format with an alias.
    parts = [
        {"review": "Soft towels that stayed soft after many washes.", "sentiment": "positive"},
        {"review": "Soft towels that stayed soft after many washes.", "sentiment": "positive"},
        {"review": "too short", "sentiment": "positive"},  # breaks the part schema
    ]
    text_item = (
        "task_type: Sentiment\ninput_field: Arrived late and dented.\\nIs this review positive or negative?\n"
        "output_field: negative"
    )
    raw = [
        {**requests[0], "status": "success", "text": json.dumps({"tasks": parts}), "finish_reason": "stop"},
        {**requests[1], "status": "success", "output": "text", "text": text_item, "finish_reason": "stop"},
    ]
    generated, failures, summary = parse_responses(raw, "toy")
    assert [t["output_field"] for t in generated] == ["positive", "positive", "negative"]
    assert [f["reason"] for f in failures] == ["schema:review:minLength"]
    assert summary[sentiment_type]["valid"] == 3 and summary[sentiment_type]["read"] == 4

    # Curation: the exact duplicate is dropped with a reason, the rest kept; rows are accounted.
    cfg = section_defaults("curate", decontaminate=False)
    kept, dropped, report = curate([seeds, generated], [], cfg, progress=io.StringIO())
    assert len(kept) == 4 and list(dropped["reason"]) == ["exact_duplicate"]
    assert report["total"]["rows_in"] == len(kept) + len(dropped)

    # Scoring: the type's own parsers and metric, strict and lenient.
    predictions = [
        {**t, "task_name": "sentiment", "response": response}
        for t, response in zip(kept, ["Positive.", "negative", "I think it is positive", "Negative!"])
    ]
    strict = score_predictions(predictions, "strict")
    truths = [t["output_field"] for t in kept]
    assert [r["answer"] for r in strict["rows"]] == ["positive", "negative", "i", "negative"]
    assert strict["overall"] == sum(a == t for a, t in zip(["positive", "negative", "i", "negative"], truths)) / 4
    lenient = score_predictions(predictions, "lenient")
    assert lenient["rows"][2]["answer"] == "positive" and lenient["overall"] >= strict["overall"]


def test_a_type_name_or_alias_cannot_be_taken_twice(sentiment_type):
    with pytest.raises(ValueError, match="already taken"):
        types.register(TaskTypeSpec(**{**SENTIMENT.__dict__, "name": "other", "aliases": ("ner",)}))
    with pytest.raises(ValueError, match="built-in"):
        types.unregister("ranking")
    assert types.canonical_name("Sentiment") == sentiment_type


def test_unregistered_type_is_unknown_again(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(_seed("Great.", "positive")))
    with pytest.raises(TaskFormatError, match="field 'task_type' has unknown value 'review_sentiment'"):
        load_tasks(path, "seed")


def test_no_code_outside_tasks_branches_on_a_type_name():
    import re

    from conftest import REPO

    branch = re.compile(r"""task_type["'\]]*\s*(?:==|!=|in|not in)\s*[(\[{]?\s*["']""")
    files = [p for p in (REPO / "src").rglob("*.py") if "tasks" not in p.relative_to(REPO / "src/shoplora").parts]
    files += [*(REPO / "workflow").rglob("*.py"), *(REPO / "workflow").rglob("*.smk")]
    lines = [(p, i, line) for p in files for i, line in enumerate(p.read_text().splitlines(), 1)]
    offenders = [f"{p}:{i}" for p, i, line in lines if branch.search(line)]
    assert not offenders, offenders
