"""An eval set in the official KDD Cup 2024 format, as is, through infer -> evaluate -> metrics_table.

The rows are synthetic (not the kit's), written as the official `development.json` writes
them: every task type of the public development set mixed in one file, ranking truths as
relevance weights, `is_multiple_choice` and `track` on every row, 4 tracks.
"""

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from conftest import BIN, planned_jobs, read_jsonl, run_snakemake

pytestmark = pytest.mark.slow

USC = "amazon-kdd-cup-24-understanding-shopping-concepts"
SKR = "amazon-kdd-cup-24-shopping-knowledge-reasoning"
UBA = "amazon-kdd-cup-24-user-behavior-alignment"
MLA = "amazon-kdd-cup-24-multi-lingual-abilities"


def official(input_field, output_field, task_name, task_type, metric, track):
    # The official field order; `is_multiple_choice` as the kit sets it.
    return {
        "input_field": input_field,
        "output_field": output_field,
        "task_name": task_name,
        "task_type": task_type,
        "metric": metric,
        "is_multiple_choice": task_type == "multiple-choice",
        "track": track,
    }


ROWS = [
    official("Which product category may have the attribute sleeve length?\n0. kettle\n1. shirt\n2. drill\n"
             "3. tent\nAnswer: ", 1, "task2", "multiple-choice", "accuracy", USC),
    official("Which of these is used to brew coffee?\n0. french press\n1. yoga mat\n2. stapler\n3. pillow\n"
             "Answer: ", 0, "task2", "multiple-choice", "accuracy", USC),
    official("A customer bought hiking boots. Which item are they most likely to buy next?\n0. wool socks\n"
             "1. espresso cups\n2. printer ink\n3. bath salts\nAnswer: ", 0, "task8", "multiple-choice",
             "accuracy", SKR),
    official("Welches Produkt passt zu einem Regentag?\n0. Sonnencreme\n1. Regenschirm\n2. Grillkohle\n"
             "3. Badehose\nAnswer: ", 1, "task16", "multiple-choice", "accuracy", MLA),
    official("A shopper searched for \"rain jacket\". Select 3 of these products that match.\n1. waterproof "
             "shell jacket\n2. cast iron pan\n3. packable rain coat\n4. desk lamp\n5. hooded rain parka\n"
             "Output: ", [1, 3, 5], "task3", "retrieval", "hit rate@3", USC),
    official("A user viewed a tent and a sleeping bag. Pick the 3 products they will most likely view next.\n"
             "1. camping stove\n2. lipstick\n3. headlamp\n4. sleeping pad\n5. office chair\nOutput: ",
             [1, 3, 4], "task13", "retrieval", "hit rate@3", UBA),
    official("Query: trail running shoes\nRank the products by relevance. You should output a permutation of 1 "
             "to 5.\n1. Road running shoes\n2. Trail running shoes, waterproof\n3. Running socks\n4. Leather "
             "dress shoes\n5. Trail running shoes, wide fit\nOutput: ", [0.1, 1, 0.01, 0, 1], "task12",
             "ranking", "ndcg", UBA),
    official("Query: usb c charger\nRank the products by relevance. You should output a permutation of 1 to 5.\n"
             "1. USB-C wall charger 65W\n2. Lightning cable\n3. USB-C car charger\n4. Phone case\n5. USB-C "
             "charging cable\nOutput: ", [1, 0, 1, 0, 0.01], "task12", "ranking", "ndcg", UBA),
    official("Please extract phrases from the query that correspond to the entity type 'brand'.\n"
             "Query: adidas running shorts\nOutput: ", ["adidas"], "task4", "named_entity_recognition",
             "micro f1", USC),
    official("Please extract phrases from the query that correspond to the entity type 'color'.\n"
             "Query: red wool scarf\nOutput: ", ["red"], "task4", "named_entity_recognition", "micro f1", USC),
    official("Instructions: Explain the product type in one sentence.\nInput: Kettle\nOutput:",
             "A kettle is a pot for boiling water.", "task1", "generation", "sent-transformer", USC),
    official("Write a short title for a waterproof hiking jacket.\nOutput: ", "Waterproof hiking jacket",
             "task6", "generation", "rougel", USC),
    official("Translate the product title into German: 'Wool socks'.\nOutput: ", "Wollsocken", "task17",
             "generation", "bleu", MLA),
]  # fmt: skip


def test_an_official_file_is_scored_per_type_and_per_track(finished_run, tmp_path):
    workdir = tmp_path / "work"
    shutil.copytree(finished_run, workdir, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    official_file = workdir / "development.json"
    official_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS))
    # Older than the curated data: this test is about evaluation, not about re-curating
    # (the eval sets are also curation's decontamination input).
    os.utime(official_file, (0, 0))
    config_path = workdir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["eval_sets"] = {"kddcup_dev": "development.json"}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    summary = "results/metrics/summary.csv"
    (workdir / summary).unlink()

    proc = run_snakemake(workdir, summary, "--cores", "2", "--rerun-triggers", "mtime")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert {k: v for k, v in jobs.items()} == {"infer": 2, "evaluate": 2, "metrics_table": 1}, jobs

    predictions = read_jsonl(workdir / "results/predictions/finetuned/kddcup_dev.jsonl")
    assert [p["track"] for p in predictions] == [r["track"] for r in ROWS]
    assert [p["output_field"] for p in predictions] == [r["output_field"] for r in ROWS]
    table = pd.read_csv(workdir / summary, keep_default_na=False)
    types = table[table["level"] == "task_type"]
    assert set(types["task_type"]) == {r["task_type"] for r in ROWS}
    tracks = table[table["level"] == "track"].set_index("track")
    assert sorted(tracks.index) == sorted({USC, SKR, UBA, MLA})
    assert tracks.loc[UBA, "n"] == 3 and tracks.loc[MLA, "n"] == 2
    tasks = table[table["level"] == "task_name"].set_index("task_name")
    for track in tracks.index:
        names = sorted({r["task_name"] for r in ROWS if r["track"] == track})
        for model in ("base", "finetuned"):
            mean = tasks.loc[names, model].astype(float).mean()
            assert float(tracks.loc[track, model]) == pytest.approx(mean)
    overall = table[table["level"] == "overall"].iloc[0]

    # The same predictions through `shoplora score`, as a user would score them by hand.
    mode = config["evaluate"]["parse_mode"]
    for model in ("base", "finetuned"):
        out = tmp_path / f"{model}.json"
        subprocess.run(
            [str(BIN / "shoplora"), "score", str(workdir / f"results/predictions/{model}/kddcup_dev.jsonl"),
             "--mode", mode, "--out", str(out)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        assert json.loads(out.read_text())["overall"] == pytest.approx(float(overall[model]))
    markdown = (workdir / "results/metrics/summary.md").read_text()
    assert "Per KDD Cup 2024 track" in markdown and MLA in markdown
