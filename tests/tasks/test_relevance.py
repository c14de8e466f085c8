"""Ranking truths as the official ShopBench files give them (relevance weights) and as
shoplora's own tasks give them (the order): validity, the SFT target and scoring."""

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoplora.config.schema import section_defaults
from shoplora.data.sft_datasets import sft_rows
from shoplora.data.task_sets import load_task_set
from shoplora.generation.prompts import format_example, format_examples
from shoplora.scoring.kit import score_rows
from shoplora.tasks.records import TaskFormatError, load_tasks
from shoplora.tasks.relevance import is_order, order_of, weights_of
from shoplora.tasks.validity import eval_row_problem, invalid_reason

from helpers import kit_rules

PROMPT = "Rank the lift kits for a 2007 Jeep Wrangler.\n1. a\n2. b\n3. c\n4. d\n5. e\nOutput: "
# ShopBench's relevance grades (exact, substitute, complement, irrelevant), as its files hold them.
GRADES = st.sampled_from([1, 1.0, 0.1, 0.01, 0, 0.0])
WEIGHTS = st.lists(GRADES, min_size=2, max_size=8).filter(lambda w: any(x > 0 for x in w))


def ranking(truth, prompt=PROMPT):
    return {"input_field": prompt, "output_field": truth, "task_type": "ranking"}


@settings(max_examples=300, deadline=None)
@given(weights=WEIGHTS)
def test_the_target_derived_from_weights_scores_one_with_the_kits_ndcg(weights):
    assert not is_order(weights)  # an official truth is never read as an order
    order = order_of(weights)
    assert sorted(order) == list(range(1, len(weights) + 1))
    assert kit_rules.row_score("ndcg", order, weights) == pytest.approx(1.0)
    # Ties keep candidate order.
    for a, b in zip(order, order[1:]):
        assert weights[a - 1] > weights[b - 1] or (weights[a - 1] == weights[b - 1] and a < b)


@settings(max_examples=200, deadline=None)
@given(order=st.permutations(range(1, 6)))
def test_an_order_is_scored_as_graded_relevance(order):
    order = list(order)
    weights = weights_of(order)
    assert kit_rules.row_score("ndcg", order, weights) == pytest.approx(1.0)
    if order != sorted(order, reverse=True):
        assert kit_rules.row_score("ndcg", order[::-1], weights) < 1.0
    assert order_of(order) == order


def test_an_official_weight_truth_is_scored_exactly_as_the_kit_scores_it():
    truth = [1, 0.01, 0.1, 1, 0]
    row = {"task_type": "ranking", "task_name": "t", "metric": "ndcg", "output_field": truth, "response": "2,1,3"}
    (record,) = score_rows([row], "strict")
    assert record["score"] == pytest.approx(kit_rules.row_score("ndcg", [2, 1, 3], truth))
    # shoplora's own truth, the order, is no longer read as weights: the order scores 1.0.
    (own,) = score_rows([{**row, "output_field": [4, 2, 3, 1, 5], "response": "4,2,3,1,5"}], "strict")
    assert own["score"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "truth, reason",
    [
        ([1, 0.01, 0.1, 1, 0], None),
        ([3, 1, 2, 5, 4], None),
        ([1.0, 1.0, 1.0, 1.0, 1.0], None),
        ([1, 0.1, 0], "invalid:weights_not_one_per_candidate"),
        ([1, -0.1, 0, 0, 0], "invalid:negative_weight"),
        ([0, 0, 0, 0, 0], "invalid:no_relevant_candidate"),
        ([], "null:output_field"),
        ([3, 1, 2], "invalid:ranking_not_a_permutation"),
        ([1, 0.1, "x", 0, 0], "invalid:output_type"),
        ([1, 0.1, float("nan"), 0, 0], "invalid:output_type"),
    ],
)
def test_a_ranking_truth_is_held_to_what_is_really_wrong(truth, reason):
    assert invalid_reason(ranking(truth)) == reason


def test_a_generated_ranking_must_be_an_order():
    """A model is asked for the order; weights from it would be a different answer."""
    assert invalid_reason(ranking([1, 0.1, 0, 0, 0]), generated=True) == "invalid:output_type"
    assert invalid_reason(ranking([1, 1]), generated=True) == "invalid:ranking_not_a_permutation"
    assert invalid_reason(ranking([2, 1, 3, 5, 4]), generated=True) is None


@pytest.mark.parametrize(
    "truth, words",
    [
        ([1, 0.1, 0], r"one per candidate listed in the prompt \(the prompt lists 5\)"),
        ([1, -1, 0, 0, 0], "negative"),
        ([], "must not be empty"),
        ([0, 0, 0, 0, 0], "every relevance weight is 0"),
    ],
)
def test_an_eval_set_with_a_wrong_ranking_truth_names_file_line_and_field(tmp_path, truth, words):
    path = tmp_path / "dev.json"
    good = {**ranking([1, 0.01, 0.1, 1, 0]), "task_name": "task12", "metric": "ndcg"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "output_field": truth}) + "\n")
    with pytest.raises(TaskFormatError, match=rf"dev.json:2: field 'output_field' is .*{words}"):
        load_tasks(path, "eval", check=eval_row_problem)


def test_sft_learns_the_order_the_weights_call_for():
    tasks = [
        {**ranking([1, 0.01, 0.1, 1, 0]), "source": "seed", "id": "a"},
        {**ranking([2, 1, 3, 5, 4]), "source": "seed", "id": "b"},
    ]
    assert sft_rows(tasks)["output"].tolist() == ["1,4,3,2,5", "2,1,3,5,4"]


def test_a_weighted_seed_is_shown_to_the_generator_as_its_order():
    seed = {**ranking([0.01, 1, 0.1, 0, 0]), "id": "s"}
    assert format_example(seed).endswith("output_field: [2, 3, 1, 4, 5]")
    parts = json.loads(format_examples([seed], "json_schema"))
    assert parts["products_best_first"] == ["b", "c", "a", "d", "e"]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_a_task_set_in_the_official_format_keeps_its_fields(tmp_path, suffix):
    track = "amazon-kdd-cup-24-user-behavior-alignment"
    rows = [
        {**ranking([1, 0.01, 0.1, 1, 0]), "task_name": "task12", "metric": "ndcg", "is_multiple_choice": False,
         "track": track},
        {"input_field": "Pick\n0. x\n1. y", "output_field": 1, "task_type": "multiple-choice",
         "task_name": "task2", "metric": "accuracy", "is_multiple_choice": True},
    ]  # fmt: skip
    path = tmp_path / f"shopbench.{suffix}"
    if suffix == "csv":  # every cell text, as a spreadsheet export has it
        pd.DataFrame(rows).astype(str).replace("nan", "").to_csv(path, index=False)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tasks = load_task_set("shopbench", section_defaults("task_sets", "*", kind="file", path=str(path)))
    assert tasks[0]["output_field"] == [1, 0.01, 0.1, 1, 0] and tasks[1]["output_field"] == 1
    assert tasks[0]["track"] == track and "track" not in tasks[1]
    if suffix == "jsonl":
        assert tasks[0]["is_multiple_choice"] is False and tasks[1]["is_multiple_choice"] is True
    json.dumps(tasks)  # plain JSON values, as download_task_set writes them
    assert [invalid_reason(t) for t in tasks] == [None, None]


def test_a_malformed_ranking_truth_is_scored_0_with_a_reason_not_a_crash():
    rows = [{"task_type": "ranking", "task_name": "t", "metric": "ndcg", "output_field": truth, "response": "1,2"}
            for truth in (5, "1,2", None, [1, 0.1])]  # fmt: skip
    records = score_rows(rows, "strict")
    assert [r["score"] for r in records[:3]] == [0.0, 0.0, 0.0] and all(r["reason"] for r in records[:3])
    assert records[3]["score"] == pytest.approx(1.0)
