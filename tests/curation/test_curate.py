import gc
import io
import re
import sys

import pytest
from rouge import Rouge

from shoplora.config.schema import section_defaults
from shoplora.curation.curate import curate, normalised
from shoplora.curation.rouge import RougePackageScorer
from shoplora.tasks.records import task_id

from helpers.rouge_reference import rouge_package_f

CFG = section_defaults("curate", near_duplicate_threshold=0.7, compare_field="input_field", decontaminate=True)


def task(prompt, source="seed", answer="an answer", task_type="generation"):
    rec = {"input_field": prompt, "output_field": answer, "task_type": task_type, "source": source}
    rec["id"] = task_id(rec)
    return rec


def test_exact_duplicate_key_folds_every_whitespace_that_re_does():
    """normalised() splits with str.split(); the key must equal the regex form it replaced."""
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if re.fullmatch(r"\s", c)]
    assert len(spaces) > 20  # tabs, newlines, no-break and ideographic spaces, separators
    for space in spaces:
        text = f"{space}Red{space * 2}SHOE{space}fits. "
        assert normalised(text) == re.sub(r"\s+", " ", text).strip().lower() == "red shoe fits."


@pytest.mark.parametrize(
    "a, b",
    [
        ("the red shoe fits well. it is cheap.", "the red shoe is cheap. it fits well."),
        ("Write a short pitch for a blue kettle", "Write one short pitch for the steel kettle"),
        ("a b c d", "e f g h"),
    ],
)
def test_curations_rouge_l_matches_the_rouge_package(a, b):
    """curate's scorer against the `rouge` package called directly (the study's scorer)."""
    scorer = RougePackageScorer()
    assert scorer.score(scorer.parse(a), scorer.parse(b)) == pytest.approx(
        Rouge().get_scores(a, b)[0]["rouge-l"]["f"], abs=1e-12
    )


def test_curations_rouge_l_handles_empty_and_very_long_texts():
    scorer = RougePackageScorer()
    # The package raises on a text without a sentence; curate scores nothing against it.
    with pytest.raises(ValueError):
        Rouge().get_scores("", "something")
    assert scorer.parse("") is None
    # The package recurses once per word (3,000 words overflow its default limit); curate does not.
    long = " ".join(f"w{i}" for i in range(3000))
    assert scorer.score(scorer.parse(long), scorer.parse(long)) == pytest.approx(1.0)


def test_near_duplicates_contamination_and_accounting():
    seeds = [
        task("Describe the blue ceramic mug for a coffee lover in one sentence"),
        task("Rank the five hiking backpacks by their price from low to high"),
    ]
    generated = [
        task("Describe the blue ceramic mug for a tea lover in one sentence", "generated:p"),  # near seed 0
        task("describe the blue ceramic mug for a coffee lover in one   sentence", "generated:p"),  # exact
        task("", "generated:p"),  # null
        task("Which brands appear in this review of a laptop stand", "generated:p"),  # contaminated
        task("Name three fabrics often used for summer dresses", "generated:p"),  # kept
        task("Pick the cheapest option\n0. a\n1. b", "generated:p", answer=5, task_type="multiple-choice"),
    ]
    evals = [
        task("Which brands appear in this review of the laptop stand?", "eval", task_type="named_entity_recognition")
    ]
    kept, dropped, report = curate([seeds, generated], evals, CFG)
    assert [t["input_field"] for t in kept] == [
        seeds[0]["input_field"],
        seeds[1]["input_field"],
        generated[4]["input_field"],
    ]
    reasons = dict(zip(dropped["id"], dropped["reason"]))
    assert reasons[generated[0]["id"]] == "near_duplicate"
    assert reasons[generated[1]["id"]] == "exact_duplicate"
    assert reasons[generated[2]["id"]] == "null:input_field"
    assert reasons[generated[3]["id"]] == "contaminated"
    assert reasons[generated[5]["id"]] == "invalid:answer_not_an_option"
    near = dropped[dropped["reason"] == "near_duplicate"].iloc[0]
    assert near["duplicate_of"] == seeds[0]["id"] and near["score"] > 0.7
    assert report["contaminated_by_eval_task_type"] == {"named_entity_recognition": 1}
    gen = report["per_source"]["generated:p"]
    assert gen["rows_in"] == 6 and gen["kept"] == 1 and gen["dropped"] == 5


class CollectorWatch(io.StringIO):
    """A progress stream that notes, at each line, whether the cyclic collector runs."""

    def __init__(self):
        super().__init__()
        self.states = []

    def write(self, text):
        self.states.append(gc.isenabled())
        return super().write(text)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_during_the_search_and_restored(enabled):
    tasks = [task(f"Describe item{i} for buyer{i} in style{i} and tone{i}", "generated:p") for i in range(40)]
    watch = CollectorWatch()
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        kept, _, _ = curate([tasks], [], CFG, progress=watch)
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError):  # a task with no source stops the search midway
            curate([tasks, [{"id": "x", "input_field": "y", "output_field": "z", "task_type": "generation"}]], [], CFG)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
    assert len(kept) == 40
    assert watch.states and not any(watch.states)


def test_threshold_is_strictly_greater():
    a = task("one two three four five six seven eight nine ten")
    b = task("one two three four five six seven eight nine ten eleven twelve thirteen", "generated:p")
    score = rouge_package_f(a["input_field"], b["input_field"])
    kept, _, _ = curate([[a], [b]], [], dict(CFG, near_duplicate_threshold=score))
    assert len(kept) == 2  # equal to the threshold: kept
    kept, _, _ = curate([[a], [b]], [], dict(CFG, near_duplicate_threshold=score - 1e-9))
    assert len(kept) == 1


def test_shipped_seeds_survive_curation_against_the_eval_sets():
    from shoplora.tasks.records import load_tasks

    from conftest import REPO

    seeds = load_tasks(REPO / "resources/seed/seed_tasks.jsonl", "seed")
    evals = [t for p in sorted((REPO / "resources/eval").glob("*.jsonl")) for t in load_tasks(p, "eval")]
    kept, dropped, _ = curate([seeds], evals, CFG)
    assert len(kept) == len(seeds), dropped.to_dict("records")


def test_without_near_dedup_only_near_duplicates_are_kept_in_addition():
    """`near_dedup: false` (the no_near_dedup ablation) keeps what near-dedup would drop, and
    nothing else changes: exact duplicates and contaminated tasks are still dropped."""
    seed = task("Write a short pitch for the blue steel kettle with a whistle")
    near = task("Write a short pitch for the blue steel kettle with a lid", "generated:p")
    exact = task("write a short pitch for the blue steel kettle with a whistle", "generated:p")
    leaked = task("Summarise this review of the red shoes in one sentence please", "generated:p")
    other = task("List three uses of a cast iron skillet", "generated:p")
    evals = [task("Summarise this review of the red shoes in one sentence, please", "eval")]
    tasks = [[seed], [near, exact, leaked, other]]
    full_kept, full_dropped, _ = curate(tasks, evals, CFG)
    kept, dropped, report = curate(tasks, evals, dict(CFG, near_dedup=False))
    assert set(full_dropped["reason"]) == {"near_duplicate", "exact_duplicate", "contaminated"}
    assert [t["id"] for t in kept] == [seed["id"], near["id"], other["id"]]
    assert {t["id"] for t in kept} - {t["id"] for t in full_kept} == set(
        full_dropped[full_dropped["reason"] == "near_duplicate"]["id"]
    )
    assert sorted(dropped["reason"]) == ["contaminated", "exact_duplicate"]
    assert report["total"]["rows_in"] == len(kept) + len(dropped)
