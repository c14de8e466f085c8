import json

import pytest

from shoplora.tasks.records import TaskFormatError, load_tasks, task_id
from shoplora.tasks.validity import answer_text, invalid_reason

from conftest import REPO

DEV_ROWS = [  # the shape of the official KDD Cup 2024 development.json (JSON Lines)
    {
        "input_field": "Which is a shoe?\n0. hat\n1. boot\n2. cup\n3. pen\nAnswer: ",
        "output_field": 1,
        "task_name": "task1",
        "task_type": "multiple-choice",
        "metric": "accuracy",
        "is_multiple_choice": True,
        "track": "amazon-kdd-cup-24-understanding-shopping-concepts",
    },
    {
        "input_field": "Extract entities from: red Nike running shoes",
        "output_field": ["Nike", "running shoes"],
        "task_name": "task7",
        "task_type": "named_entity_recognition",
        "metric": "micro f1",
        "is_multiple_choice": False,
        "track": "amazon-kdd-cup-24-understanding-shopping-concepts",
    },
]


def test_shipped_resources_cover_all_task_types():
    seeds = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
    assert len(seeds) >= 40
    assert {t["task_type"] for t in seeds} == {
        "multiple-choice",
        "ranking",
        "retrieval",
        "named_entity_recognition",
        "generation",
        "classification",
    }
    seed_prompts = {t["input_field"] for t in seeds}
    for task_type in {t["task_type"] for t in seeds}:
        evals = load_tasks(REPO / f"resources/eval/{task_type}.jsonl", "eval")
        assert len(evals) >= 15
        assert all(t["task_type"] == task_type for t in evals)
        assert not seed_prompts & {t["input_field"] for t in evals}
        assert all(invalid_reason(t) is None for t in evals)
    assert all(invalid_reason(t) is None for t in seeds)


def test_development_json_loads_unchanged(tmp_path):
    path = tmp_path / "development.json"
    path.write_text("\n".join(json.dumps(r) for r in DEV_ROWS) + "\n")
    tasks = load_tasks(path, "external:kdd")
    assert len(tasks) == 2
    for original, loaded in zip(DEV_ROWS, tasks):
        assert {k: loaded[k] for k in original} == original
        assert loaded["source"] == "external:kdd" and len(loaded["id"]) == 16


def test_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(DEV_ROWS[0]) + "\n" + json.dumps({"input_field": "x", "task_type": "ranking"}) + "\n")
    with pytest.raises(TaskFormatError, match=r"bad.jsonl:2: field 'output_field' is missing"):
        load_tasks(path, "seed")
    path.write_text(json.dumps({**DEV_ROWS[0], "task_type": "poetry"}) + "\n")
    with pytest.raises(TaskFormatError, match=r"bad.jsonl:1: field 'task_type' has unknown value 'poetry'"):
        load_tasks(path, "seed")
    path.write_text("{not json\n")
    with pytest.raises(TaskFormatError, match=r"bad.jsonl:1: not valid JSON"):
        load_tasks(path, "seed")


def test_task_id_is_stable_and_content_based():
    a = dict(DEV_ROWS[0])
    assert task_id(a) == task_id(dict(a, task_name="other", source="x"))
    assert task_id(a) != task_id(dict(a, output_field=2))


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"input_field": "", "output_field": 1, "task_type": "multiple-choice"}, "null:input_field"),
        ({"input_field": "q", "output_field": None, "task_type": "multiple-choice"}, "null:output_field"),
        ({"input_field": "q\n0. a\n1. b", "output_field": "1", "task_type": "multiple-choice"}, "invalid:output_type"),
        (
            {"input_field": "q\n0. a\n1. b", "output_field": 2, "task_type": "multiple-choice"},
            "invalid:answer_not_an_option",
        ),
        (
            {"input_field": "q\n1. a\n2. b\n3. c", "output_field": [1, 2], "task_type": "ranking"},
            "invalid:ranking_not_a_permutation",
        ),
        (
            {"input_field": "q\n1. a\n2. b\n3. c", "output_field": [1, 4], "task_type": "retrieval"},
            "invalid:answer_out_of_range",
        ),
        (
            {"input_field": "q", "output_field": ["x", ""], "task_type": "named_entity_recognition"},
            "invalid:output_type",
        ),
        ({"input_field": "q", "output_field": [1], "task_type": "generation"}, "invalid:output_type"),
        ({"input_field": "q\n1. a\n2. b\n3. c", "output_field": [3, 1, 2], "task_type": "ranking"}, None),
        ({"input_field": "q", "output_field": "fine", "task_type": "generation"}, None),
        # A prompt of control characters was kept as valid; a table's missing cell is NaN.
        ({"input_field": "\x00\x00", "output_field": "fine", "task_type": "generation"}, "null:input_field"),
        ({"input_field": "Say\x00 hi", "output_field": "hi", "task_type": "generation"}, "invalid:control_character"),
        ({"input_field": float("nan"), "output_field": "x", "task_type": "generation"}, "null:input_field"),
        ({"input_field": 7, "output_field": "x", "task_type": "generation"}, "invalid:input_type"),
    ],
)
def test_invalid_reason(record, reason):
    assert invalid_reason(record) == reason


def test_answer_text_is_always_a_string():
    assert answer_text(2) == "2"
    assert answer_text([3, 1, 2]) == "3,1,2"
    assert json.loads(answer_text(["Nike", "boots"])) == ["Nike", "boots"]
    assert answer_text("hello") == "hello"


def test_non_utf8_and_empty_task_files_name_the_file(tmp_path):
    """A raw UnicodeDecodeError or a bare ValueError from later code named no file."""
    first = b'{"input_field": "ok", "output_field": 1, "task_type": "multiple-choice"}\n'
    second = b'{"input_field": "caf\xe9", "output_field": 1, "task_type": "multiple-choice"}\n'
    latin = tmp_path / "seeds.jsonl"
    latin.write_bytes(first + second)
    offset = len(first) + second.index(b"\xe9")
    with pytest.raises(TaskFormatError, match=rf"seeds.jsonl:2: not UTF-8 text \(byte {offset}: 0xe9\)"):
        load_tasks(latin, "seed")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(TaskFormatError, match="empty.jsonl: the file is empty"):
        load_tasks(empty, "seed")
