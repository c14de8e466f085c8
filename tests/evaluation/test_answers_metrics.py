import math

import pytest
import sacrebleu
from rouge_score import rouge_scorer

import shoplora.scoring.metrics as metrics
import shoplora.scoring.parsers as parsers
from shoplora.scoring.kit import score_predictions
from shoplora.tasks.types import spec


@pytest.mark.parametrize("response, expected", [("2", 2), (" 3. boots", 3), ("Answer: 2", -1), ("", -1)])
def test_multiple_choice_official(response, expected):
    assert spec("multiple-choice").parse_strict(response) == expected


@pytest.mark.parametrize(
    "response, expected",
    [
        ("1, 2, 3, 4, 5", [1, 2, 3, 4, 5]),
        ("[3, 1, 2]", [3, 1, 2]),
        ("1, 2, 2, 3", []),
        ("1, 4, 5, aicrowd, 6", [1, 4, 5]),
        ("1 2", []),
        ("5,4,3,2,1,6", [5, 4, 3, 2, 1]),
    ],
)
def test_ranking_official(response, expected):
    assert spec("ranking").parse_strict(response) == expected


@pytest.mark.parametrize(
    "response, expected", [("100, 200, 300, 400", [100, 200, 300]), ("1, 1, 2", [1, 1, 2]), ("7, x, 8", [7, 8])]
)
def test_retrieval_official(response, expected):
    assert spec("retrieval").parse_strict(response) == expected


@pytest.mark.parametrize(
    "response, expected",
    [
        ("['New York', 'Amazon']", ["New York", "Amazon"]),
        ("New York, Amazon", ["New York", "Amazon"]),
        ("[New York, Amazon]", ["[New York", "Amazon]"]),
        ("a, , b", ["a", "b"]),
    ],
)
def test_ner_official(response, expected):
    assert spec("named_entity_recognition").parse_strict(response) == expected


def test_lenient_mode_finds_answers_in_text():
    assert parsers.parse("multiple-choice", "Answer: 2", "lenient") == (2, False)
    assert parsers.parse("multiple-choice", "Answer: 2", "strict") == (-1, True)
    assert parsers.parse("ranking", "I think 3 then 1 then 2", "lenient") == ([3, 1, 2], False)
    assert parsers.parse("named_entity_recognition", "The brands are ['A', 'B'].", "lenient") == (["A", "B"], False)


def test_hit_rate_and_accuracy():
    assert metrics.hit_rate_3([1, 2, 3], [2, 5]) == 0.5
    assert metrics.hit_rate_3([4, 5, 6, 1], [1]) == 0.0
    assert metrics.accuracy(2, 2) == 1.0 and metrics.accuracy(-1, 2) == 0.0


def test_ndcg_hand_computed():
    truth = [3, 2, 1]  # relevance weights of items 1..3
    assert metrics.ndcg([1, 2, 3], truth) == pytest.approx(1.0)
    dcg = (2**1 - 1) / math.log2(2) + (2**3 - 1) / math.log2(3)
    idcg = (2**3 - 1) / 1 + (2**2 - 1) / math.log2(3) + (2**1 - 1) / 2
    assert metrics.ndcg([3, 1], truth) == pytest.approx(dcg / idcg)
    # a prediction longer than the truth is cut; unknown ids have relevance 0
    assert metrics.ndcg([9, 1, 2, 3], truth) == pytest.approx(((2**3 - 1) / math.log2(3) + (2**2 - 1) / 2) / idcg)


def test_micro_f1_pools_counts_and_counts_repeats():
    counts = [metrics.tp_fp_fn(["Nike ", "nike"], ["Nike"]), metrics.tp_fp_fn(["x"], ["Y", "Z"])]
    assert counts == [(1, 1, 0), (0, 1, 2)]
    assert metrics.micro_f1(counts) == pytest.approx(2 * (1 / 3) * (1 / 3) / (2 / 3))


def test_rouge_and_bleu_match_reference_libraries():
    pred, ref = "The running shoes are light and comfy", "These running shoes feel light"
    expected = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True).score(pred, ref)["rougeL"].fmeasure
    assert metrics.rouge_l(pred, ref) == expected
    assert metrics.bleu(pred + "\nsecond line", ref) == pytest.approx(
        sacrebleu.corpus_bleu([pred], [[ref]], lowercase=True).score / 100
    )


@pytest.mark.slow  # loads a real sentence model
def test_sentence_similarity_with_shipped_minilm():
    sim = metrics.SentenceSimilarity(metrics.minilm_path())
    same, other = sim(["a warm wool blanket", "a warm wool blanket"], ["a warm wool blanket", "tax law reform"])
    assert same == pytest.approx(1.0, abs=1e-5) and 0 <= other < 0.5


def test_multilingual_metric_without_model_fails_naming_it():
    with pytest.raises(RuntimeError, match="paraphrase-multilingual-MiniLM-L12-v2"):
        metrics.sentence_scores("multilingual-sent-transformer", ["a"], ["b"])


def test_score_predictions_per_task_name_with_the_study_extras():
    preds = [
        {"task_type": "multiple-choice", "task_name": "t1", "metric": "accuracy", "output_field": 1, "response": "1"},
        {"task_type": "multiple-choice", "task_name": "t1", "metric": "accuracy", "output_field": 2, "response": "x"},
        {"task_type": "multiple-choice", "task_name": "t2", "metric": "accuracy", "output_field": 0, "response": "0"},
        {
            "task_type": "generation",
            "task_name": "g",
            "metric": "rougel",
            "output_field": "soft cotton shirt",
            "response": "a soft cotton shirt\nsecond line",
        },
    ]
    result = score_predictions(preds, "strict")
    t1, t2, g = ({t["task_name"]: t for t in result["per_task"]}[name] for name in ("t1", "t2", "g"))
    assert (t1["task_name"], t1["score"], t1["parse_failures"], t1["n"]) == ("t1", 0.5, 1, 2)
    assert (t2["score"], t2["task_type"]) == (1.0, "multiple-choice") and "bleu4" not in t2
    assert g["rougel"] == pytest.approx(metrics.rouge_l("a soft cotton shirt\nsecond line", "soft cotton shirt"))
    assert g["bleu4"] == pytest.approx(metrics.bleu("a soft cotton shirt", "soft cotton shirt"))
    assert result["parse_failure_rate"] == pytest.approx(1 / 4) and result["n"] == 4


def test_a_task_name_is_one_task_whatever_its_rows_types_as_in_the_kit():
    preds = [
        {"task_type": t, "task_name": "same", "metric": "accuracy", "output_field": 1, "response": r}
        for t, r in (("multiple-choice", "1"), ("classification", "2"))
    ]
    (task,) = score_predictions(preds, "strict")["per_task"]
    assert (task["task_type"], task["n"], task["score"]) == ("multiple-choice", 2, 0.5)


def test_every_metric_validation_knows_is_one_scoring_has():
    """Validation (tasks/spec.py's METRIC_FORMS) and scoring name the same metrics."""
    from shoplora.tasks.spec import METRIC_FORMS
    from shoplora.tasks.types import POOLED_METRIC

    scored = set(metrics.SIMPLE) | {POOLED_METRIC, "sent-transformer", "multilingual-sent-transformer"}
    assert set(METRIC_FORMS) == scored
