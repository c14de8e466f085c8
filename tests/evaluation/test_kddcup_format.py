"""The official KDD Cup 2024 development.json format as an eval set, scored without conversion.

tests/data/development_sample.jsonl has the official fields (input_field, output_field,
task_name, task_type, metric, is_multiple_choice, track) and mixes task types and metrics in
one file, including jp-bleu and multilingual-sent-transformer.
"""

import shutil

import pytest
import sacrebleu
import yaml

from shoplora.evaluation.table import summary_table, to_markdown
from shoplora.scoring.kit import score_predictions
from shoplora.scoring.metrics import minilm_path
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


def test_table_has_a_row_per_track_with_the_mean_of_its_tasks():
    _, preds = predictions()
    paths = {"multilingual-sent-transformer": minilm_path()}
    base = {**score_predictions(preds, "strict", paths), "model": "base"}
    tuned = {**score_predictions([{**p, "response": ""} for p in preds], "strict", paths), "model": "finetuned"}
    table = summary_table([base, tuned], resamples=200)
    tracks = table[table["level"] == "track"].set_index("track")
    by_track = {}
    for task in base["per_task"]:
        by_track.setdefault(task["track"], []).append(task["score"])
    assert sorted(tracks.index) == sorted(by_track) and len(by_track) == 3
    for track, scores in by_track.items():
        assert tracks.loc[track, "base"] == pytest.approx(sum(scores) / len(scores))
        assert tracks.loc[track, "base_ci_low"] <= tracks.loc[track, "base"] <= tracks.loc[track, "base_ci_high"]
    assert tracks["n"].sum() == 9 and table.iloc[-1]["level"] == "overall"
    names = table[table["level"] == "task_name"].set_index("task_name")
    assert names.loc["query_product_ranking", "track"] == "amazon-kdd-cup-24-user-behavior-alignment"
    markdown = to_markdown(table, "strict")
    section = markdown.split("Per KDD Cup 2024 track")[1]
    assert section.count("| amazon-kdd-cup-24-") == 3
    main, tracks_and_extras = markdown.split("Per KDD Cup 2024 track")
    assert "amazon-kdd-cup-24-" not in main.split("| --- |")[-1]
    extras = tracks_and_extras.split("the study's extra columns")[1]
    assert "amazon-kdd-cup-24-" not in extras and "\n|  |  |" not in extras  # no track rows there


def test_a_table_without_tracks_has_no_track_rows():
    rows = load_tasks(REPO / "resources/eval/ranking.jsonl", "eval")[:4]
    preds = [{**t, "response": "1,2,3,4,5"} for t in rows]
    table = summary_table([{**score_predictions(preds, "strict"), "model": m} for m in ("base", "finetuned")], 0)
    assert "track" not in set(table["level"]) and "Per KDD Cup" not in to_markdown(table, "strict")


def test_a_task_name_cannot_break_the_markdown_table():
    preds = [{"task_type": "multiple-choice", "task_name": "a|b\nc", "metric": "accuracy", "output_field": 1,
              "response": "1", "id": "x"}]  # fmt: skip
    table = summary_table([{**score_predictions(preds, "strict"), "model": m} for m in ("base", "finetuned")], 0)
    row = next(line for line in to_markdown(table, "strict").splitlines() if "a\\|b" in line)
    assert row.count(" | ") == to_markdown(table, "strict").splitlines()[2].count(" | ")


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
