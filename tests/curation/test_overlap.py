"""The dev/eval overlap check agrees with curation's decontamination, and catches shared ids."""

from shoplora.config.schema import section_defaults
from shoplora.curation.curate import curate
from shoplora.curation.overlap import find_overlaps
from shoplora.tasks.records import load_tasks

from conftest import REPO

CFG = section_defaults("curate", decontaminate=True)


def shipped(path, label):
    return load_tasks(REPO / path, label)


def test_overlap_check_flags_exactly_what_decontamination_drops():
    evals = shipped("resources/eval/multiple-choice.jsonl", "eval") + shipped("resources/eval/ranking.jsonl", "eval")
    seeds = shipped("resources/seed/seed_tasks.jsonl", "seed")
    # Dev candidates: the seeds (written apart from the eval sets), an eval row copied under a
    # new id, and one lightly reworded.
    copied = {**evals[0], "id": "dev-copy"}
    reworded = {**evals[3], "id": "dev-reworded", "input_field": evals[3]["input_field"].replace("Which", "So, which")}
    dev = seeds + [copied, reworded]
    found = find_overlaps(dev, evals, CFG)
    flagged = {hit["dev_id"] for hit in found}
    assert {"dev-copy", "dev-reworded"} <= flagged
    assert all(hit["reason"] == "near_duplicate" and hit["score"] > CFG["near_duplicate_threshold"] for hit in found)
    assert {hit["eval_id"] for hit in found if hit["dev_id"] == "dev-copy"} == {evals[0]["id"]}
    # The reference: the rows curate() drops as contaminated by these eval sets.
    _, drops, _ = curate([[{**t, "source": "dev"} for t in dev]], evals, CFG)
    contaminated = set(drops.loc[drops["reason"] == "contaminated", "id"])
    assert flagged == contaminated


def test_a_shared_id_is_an_overlap_even_with_other_text():
    evals = shipped("resources/eval/classification.jsonl", "eval")
    seeds = shipped("resources/seed/seed_tasks.jsonl", "seed")
    dev = [{**seeds[0], "id": evals[2]["id"]}]
    assert find_overlaps(dev, evals, CFG) == [
        {"dev_id": evals[2]["id"], "eval_id": evals[2]["id"], "reason": "same_id", "score": None}
    ]


def test_disjoint_sets_have_no_overlap():
    evals = shipped("resources/eval/generation.jsonl", "eval")
    dev = shipped("resources/eval/retrieval.jsonl", "eval")
    assert find_overlaps(dev, evals, CFG) == []
