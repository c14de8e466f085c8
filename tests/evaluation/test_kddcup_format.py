"""The official KDD Cup 2024 development.json format as an eval set, scored without conversion.

tests/data/development_sample.jsonl has the official fields (input_field, output_field,
task_name, task_type, metric, is_multiple_choice, track) and mixes task types and metrics in
one file, including jp-bleu and multilingual-sent-transformer.
"""

import shutil

import pytest
import sacrebleu
import yaml

from shoplora.evaluation.metrics import minilm_path
from shoplora.evaluation.scoring import score_predictions
from shoplora.evaluation.table import summary_table
from shoplora.tasks.records import load_tasks

from conftest import REPO, make_workdir, planned_jobs, run_snakemake

SAMPLE = REPO / "tests/data/development_sample.jsonl"
RESPONSES = {
    "product_type_mc": ["1", "Answer: 2"],
    "query_product_ranking": ["4,1,3,5,2"],
    "complementary_retrieval": ["1, 3, 9"],
    "brand_extraction": ["['Nike', 'brooks']"],
    "title_generation": ["Waterproof hiking jacket"],
    "usage_explanation": ["They take load off the knees and add balance on steep ground."],
    "title_translation_ja": ["ステンレス製の水筒は軽くて丈夫です"],
    "title_translation_de": ["Wanderstrümpfe aus Wolle"],
}


def predictions():
    tasks = load_tasks(SAMPLE, "eval:kddcup")
    served = {name: iter(r) for name, r in RESPONSES.items()}
    return tasks, [{**t, "response": next(served[t["task_name"]])} for t in tasks]


def test_official_fields_load_unchanged():
    tasks, _ = predictions()
    assert len(tasks) == 9
    assert tasks[0]["is_multiple_choice"] is True and tasks[0]["track"].startswith("amazon-kdd-cup-24")
    assert {t["metric"] for t in tasks} >= {"jp-bleu", "multilingual-sent-transformer", "ndcg", "micro f1"}


def test_mixed_file_scored_per_task_with_the_official_metrics():
    _, preds = predictions()
    paths = {"multilingual-sent-transformer": minilm_path()}  # a stand-in local model path
    result = score_predictions(preds, "strict", paths)
    by_name = {t["task_name"]: t for t in result["per_task"]}
    assert by_name["product_type_mc"]["score"] == 0.5  # "Answer: 2" is not a digit first
    assert by_name["product_type_mc"]["parse_failures"] == 1
    assert by_name["query_product_ranking"]["score"] == pytest.approx(1.0)
    assert by_name["complementary_retrieval"]["score"] == pytest.approx(2 / 3)
    assert by_name["brand_extraction"]["score"] == pytest.approx(1.0)  # truth lowercased too
    assert by_name["title_generation"]["score"] == pytest.approx(1.0)
    assert by_name["usage_explanation"]["score"] == pytest.approx(1.0, abs=1e-5)
    hyp, ref = "ステンレス製の水筒は軽くて丈夫です", "ステンレス製の水筒は軽くてとても丈夫です"
    jp = sacrebleu.corpus_bleu([hyp], [[ref]], tokenize="ja-mecab", lowercase=True)
    assert by_name["title_translation_ja"]["score"] == pytest.approx(jp.score / 100)
    assert 0 < jp.score < 100  # MeCab splits the words; the default tokenizer would see one token
    assert sacrebleu.corpus_bleu([hyp], [[ref]]).score == 0
    assert by_name["title_translation_de"]["score"] == pytest.approx(1.0, abs=1e-5)
    assert {t["task_type"] for t in result["per_task"]} == {
        "multiple-choice",
        "ranking",
        "retrieval",
        "named_entity_recognition",
        "generation",
    }


def test_multilingual_metric_without_a_model_names_it():
    _, preds = predictions()
    with pytest.raises(RuntimeError, match="paraphrase-multilingual-MiniLM-L12-v2"):
        score_predictions(preds, "strict")


def test_table_from_one_mixed_file_has_type_and_task_rows():
    _, preds = predictions()
    paths = {"multilingual-sent-transformer": minilm_path()}
    base = {**score_predictions(preds, "strict", paths), "model": "base"}
    tuned = {**score_predictions([{**p, "response": ""} for p in preds], "strict", paths), "model": "finetuned"}
    table = summary_table([base, tuned])
    generation = table[(table["task_type"] == "generation") & (table["level"] == "task_name")]
    assert len(generation) == 4 and set(table.loc[table["level"] == "task_type", "task_type"]) == {
        "multiple-choice",
        "ranking",
        "retrieval",
        "named_entity_recognition",
        "generation",
    }
    assert table.iloc[-1]["n"] == 9


@pytest.mark.workflow
def test_workflow_takes_development_json_as_an_eval_set(tmp_path):
    workdir = make_workdir(tmp_path)
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    config["eval_sets"] = {"kddcup_dev": "development.json"}
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(SAMPLE, workdir / "development.json")
    out = run_snakemake(workdir, "-n").stdout
    assert planned_jobs(out)["infer"] == 2 and planned_jobs(out)["evaluate"] == 2
    assert "results/predictions/base/kddcup_dev.jsonl" in out
