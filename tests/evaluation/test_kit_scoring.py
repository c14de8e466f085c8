"""Strict scoring equals the KDD Cup 2024 starter kit, row for row and in aggregate.

The kit's rules are restated in tests/helpers/kit_rules.py; each of the five ways the project
used to differ has a test with the answer that shows it, and hypothesis compares the two on
generated answers of every kind.
"""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shoplora.scoring.metrics as metrics
from shoplora.scoring.kit import score_predictions, score_rows
from shoplora.scoring.parsers import parse_with_reason

from conftest import REPO
from helpers import kit_rules


def row(task_type, metric, truth, response, task_name="t", **extra):
    return {
        "task_type": task_type,
        "task_name": task_name,
        "metric": metric,
        "output_field": truth,
        "response": response,
        **extra,
    }


# 1. One odd answer never stops the evaluation.
@pytest.mark.parametrize("response", ["²", "①", " ³ then 2", "\u00bd"])
def test_a_unicode_digit_answer_is_unparsable_not_an_error(response):
    result = score_predictions(
        [row("multiple-choice", "accuracy", 2, response), row("multiple-choice", "accuracy", 1, "1")], "strict"
    )
    (first, second) = result["rows"]
    assert first["answer"] == -1 and first["failed"] and first["score"] == 0.0
    assert second["score"] == 1.0 and result["overall"] == 0.5


def test_ner_answer_that_breaks_literal_eval_falls_back_to_commas():
    value, failed, _ = parse_with_reason("named_entity_recognition", "{['mens']}")
    assert value == ["{['mens']}"] and not failed
    result = score_predictions([row("named_entity_recognition", "micro f1", ["mens"], "{['mens']}")], "strict")
    assert result["rows"][0]["counts"] == (0, 1, 1)


# 2. Digits are what str.isnumeric() keeps, and int() must read the whole item.
@pytest.mark.parametrize(
    "task_type, response, expected",
    [
        ("ranking", "1, 三, 2", [1, 2]),  # the kanji item is dropped whole
        ("ranking", "1½, 2, 3", [2, 3]),  # "1½" is one item int() refuses
        ("retrieval", "4, 五, 9", [4, 9]),
        ("retrieval", "٣, 7", [3, 7]),  # Arabic-Indic digits are read
    ],
)
def test_numeric_items_follow_isnumeric_and_int(task_type, response, expected):
    assert parse_with_reason(task_type, response)[0] == expected == kit_rules.parse(task_type, response)


# 3. The NER answer is not stripped before it is read as a list.
def test_ner_answer_is_read_without_stripping():
    nbsp = "\u00a0['Acme', 'Zenflow']"
    assert parse_with_reason("named_entity_recognition", nbsp)[0] == ["['Acme'", "'Zenflow']"]
    assert parse_with_reason("named_entity_recognition", "\n['Acme']")[0] == ["Acme"]


# 4. NDCG: a predicted 0 reads the last relevance weight, as the kit's index -1 does.
def test_ndcg_reads_the_last_weight_for_item_zero():
    weights = [3, 2, 1]
    idcg = 7 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg([0], weights) == pytest.approx(1 / idcg)
    assert metrics.ndcg([0, 1], weights) == pytest.approx((1 + 7 / math.log2(3)) / idcg)
    assert metrics.ndcg([9], weights) == 0.0


# 5. Aggregation: per task name, by its first row's metric; overall = plain mean over task names.
def test_a_task_with_two_metrics_is_one_task_in_the_overall_mean():
    rows = [
        row("multiple-choice", "accuracy", 1, "1", task_name="a"),
        row("multiple-choice", "accuracy", 2, "1", task_name="a"),
        row("multiple-choice", "accuracy", 0, "0", task_name="mixed"),
        row("retrieval", "hit rate@3", [5], "5, 6", task_name="mixed"),
        row("named_entity_recognition", "micro f1", ["x", "y"], "x, z", task_name="ner"),
        row("named_entity_recognition", "micro f1", ["q"], "q", task_name="ner"),
    ]
    result = score_predictions(rows, "strict")
    scores = {t["task_name"]: t["score"] for t in result["per_task"]}
    assert scores == pytest.approx({"a": 0.5, "mixed": 1.0, "ner": 2 * 2 / (2 * 2 + 1 + 1)})  # pooled, not mean
    assert [t["metric"] for t in result["per_task"]] == ["accuracy", "accuracy", "micro f1"]
    assert result["overall"] == pytest.approx((0.5 + 1.0 + 4 / 6) / 3)


# Strict mode against the restated kit on generated answers of every kind.
PIECES = st.sampled_from(
    [
        "1",
        "2",
        "3",
        "5",
        "0",
        "12",
        "²",
        "①",
        "三",
        "½",
        "٣",
        ",",
        ", ",
        " ",
        "\n",
        "\u00a0",
        "[",
        "]",
        "'",
        '"',
        "{",
        "}",
        "(",
        ")",
        "a",
        "Acme",
        "brand",
        "-",
        ".",
        "The answer is ",
        "['x', 'y']",
        "[1, 2]",
        "\t",
    ]
)
ANSWERS = st.one_of(
    st.lists(PIECES, max_size=12).map("".join),
    st.text(max_size=30),
    st.lists(PIECES, min_size=1, max_size=3).map(lambda p: "".join(p) * 2000),
)
TRUTHS = {
    ("multiple-choice", "accuracy"): 2,
    ("ranking", "ndcg"): [3, 2, 1, 0, 0],
    ("retrieval", "hit rate@3"): [1, 12],
    ("named_entity_recognition", "micro f1"): ["acme", "x"],
}


@settings(max_examples=400, deadline=None)
@given(answer=ANSWERS, kind=st.sampled_from(sorted(TRUTHS)))
def test_strict_rows_equal_the_kit(answer, kind):
    task_type, metric = kind
    truth = TRUTHS[kind]
    (record,) = score_rows([row(task_type, metric, truth, answer)], "strict")
    expected_answer = kit_rules.parse(task_type, answer)
    assert record["answer"] == expected_answer
    expected = kit_rules.row_score(metric, expected_answer, truth)
    if metric == "micro f1":
        assert record["counts"] == expected
    else:
        assert record["score"] == pytest.approx(expected)


@settings(max_examples=300, deadline=None)
@given(answer=ANSWERS, kind=st.sampled_from(sorted(TRUTHS) + [("generation", "rougel")]))
def test_lenient_never_scores_a_row_below_strict(answer, kind):
    task_type, metric = kind
    truth = TRUTHS.get(kind, "a soft cotton shirt")
    rows = [row(task_type, metric, truth, answer)]
    (strict,), (lenient,) = score_rows(rows, "strict"), score_rows(rows, "lenient")
    assert lenient["score"] >= strict["score"]


def test_lenient_gives_credit_for_an_answer_in_a_sentence():
    rows = [row("multiple-choice", "accuracy", 2, "The answer is 2")]
    assert score_rows(rows, "strict")[0]["score"] == 0.0
    assert score_rows(rows, "lenient")[0]["score"] == 1.0


def kit_overall_from_rows(result):
    """The kit's aggregation, by hand, over the per-row scores the scorer reports."""
    rows = [(r["task_name"], r["metric"], tuple(r["counts"]) if r["counts"] else r["score"]) for r in result["rows"]]
    return kit_rules.overall(rows)


def answers_for(tasks):
    """Deterministic answers of every kind: right, wrong, malformed."""
    out = []
    for i, t in enumerate(tasks):
        truth = t["output_field"]
        if isinstance(truth, list):
            text = ", ".join(map(str, truth[::-1] if i % 3 else truth))
        else:
            text = str(truth) if i % 4 else f"I think {truth}"
        out.append({**t, "response": text})
    return out


@pytest.mark.slow  # loads the sentence model for the sent-transformer rows
@pytest.mark.parametrize("source", ["shipped", "development_sample"])
def test_overall_equals_a_hand_computed_kit_mean(source):
    from shoplora.scoring.metrics import minilm_path
    from shoplora.tasks.records import load_tasks

    if source == "shipped":
        tasks = [t for p in sorted((REPO / "resources/eval").glob("*.jsonl")) for t in load_tasks(p, "eval")]
    else:
        tasks = load_tasks(REPO / "tests/data/development_sample.jsonl", "eval")
    paths = {"multilingual-sent-transformer": minilm_path()}  # a stand-in local model
    result = score_predictions(answers_for(tasks), "strict", paths)
    assert result["overall"] == pytest.approx(kit_overall_from_rows(result))
    assert len(result["per_task"]) == len({t["task_name"] for t in tasks})


def test_score_command_writes_table_json_and_rows(tmp_path):
    import subprocess

    from conftest import BIN

    predictions = tmp_path / "predictions.jsonl"
    rows = [
        row("multiple-choice", "accuracy", 2, "2", task_name="mc", id="a"),
        row("multiple-choice", "accuracy", 1, "²", task_name="mc", id="b"),
        row("ranking", "ndcg", [0.1, 1], "1, 2", task_name="rank", id="c"),  # official weights
    ]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, per_row = tmp_path / "scores.json", tmp_path / "rows.jsonl"
    proc = subprocess.run(
        [
            str(BIN / "shoplora"),
            "score",
            str(predictions),
            "--mode",
            "strict",
            "--out",
            str(out),
            "--rows",
            str(per_row),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mc" in proc.stdout and "overall" in proc.stdout
    scores = json.loads(out.read_text())
    assert scores["overall"] == pytest.approx((0.5 + metrics.ndcg([1, 2], [0.1, 1])) / 2)
    lines = [json.loads(line) for line in per_row.read_text().splitlines()]
    assert [line["answer"] for line in lines] == [2, -1, [1, 2]]
    assert lines[1]["failed"] and lines[1]["reason"] == "no answer found"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task_type": "ranking"}\n')
    proc = subprocess.run([str(BIN / "shoplora"), "score", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "bad.jsonl:1: field 'task_name' is missing" in proc.stderr
    bad.write_text(json.dumps(row("multiple-choice", "accuracy", 2, "2", task_name="mc")) + "\n")
    with bad.open("a") as fh:
        fh.write(json.dumps(row("poem", "accuracy", 2, "2", task_name="mc")) + "\n")
    proc = subprocess.run([str(BIN / "shoplora"), "score", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "bad.jsonl:2: field 'task_type' has unknown value 'poem'" in proc.stderr


def test_lenient_mode_with_nothing_to_rescore_loads_no_model():
    from shoplora.scoring.kit import _metric_values

    # Every lenient reading equal to the strict one leaves an empty batch for the sentence model.
    assert _metric_values("sent-transformer", [], [], None) == []


def test_score_command_refuses_what_would_score_a_silent_zero(tmp_path):
    """Each case used to exit 0 (a NaN truth scored 0 with "failed 0") or end in a traceback."""
    import subprocess

    from conftest import BIN

    good = row("multiple-choice", "accuracy", 2, "2", task_name="mc", id="a")
    cases = {
        "nan.jsonl": (json.dumps(good) + "\n" + json.dumps({**good, "output_field": float("nan")}) + "\n",
                      "nan.jsonl:2: field 'output_field' is nan, but a multiple-choice answer must be an integer"),
        "empty.jsonl": ("\n", "empty.jsonl: no predictions (the file is empty)"),
        "metric.jsonl": (json.dumps({**good, "metric": "acuracy"}) + "\n",
                         "metric.jsonl:1: field 'metric' has unknown value 'acuracy'"),
        "misfit.jsonl": (json.dumps({**good, "metric": "micro f1"}) + "\n",
                         "misfit.jsonl:1: field 'metric' is 'micro f1', which scores a list of non-empty strings"),
        "ranking.jsonl": (json.dumps(row("ranking", "ndcg", [], "1,2", task_name="r")) + "\n",
                          "ranking.jsonl:1: field 'output_field' is [], but a ranking answer must not be empty"),
    }  # fmt: skip
    for name, (text, _) in cases.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "binary.jsonl").write_bytes(json.dumps(good).encode() + b"\n\x89PNG\xff\xfe\n")
    cases["binary.jsonl"] = (None, "binary.jsonl:2: not UTF-8 text")
    (tmp_path / "folder").mkdir()
    cases["folder"] = (None, "folder: is a folder")
    for name, (_, message) in cases.items():
        proc = subprocess.run([str(BIN / "shoplora"), "score", str(tmp_path / name)], capture_output=True, text=True)
        assert proc.returncode != 0 and f"shoplora score: {tmp_path / name}" in proc.stderr, (name, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, (name, proc.stderr)
    # An --out that cannot be written (here its folder is a file; a full disk is the same OSError).
    (tmp_path / "good.jsonl").write_text(json.dumps(good) + "\n")
    out = tmp_path / "good.jsonl" / "scores.json"
    proc = subprocess.run([str(BIN / "shoplora"), "score", str(tmp_path / "good.jsonl"), "--out", str(out)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0 and f"shoplora score: {tmp_path / 'good.jsonl'}" in proc.stderr, proc.stderr
    assert "File exists" in proc.stderr and "Traceback" not in proc.stderr
