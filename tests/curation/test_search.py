"""curate.workers > 1 splits the kept tasks over processes: no decision or match may change."""

import io
import sys

import pandas as pd
import pytest

from shoplora.config.schema import section_defaults
from shoplora.curation import search
from shoplora.curation.curate import curate

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_dedup import as_tasks  # noqa: E402

from shopping_prompts import shopping_prompts  # noqa: E402

BLOCK = 101


@pytest.mark.parametrize("scorer", ["rouge", "rouge-score"])
def test_workers_keep_and_drop_exactly_what_one_process_does(monkeypatch, scorer):
    monkeypatch.setattr(search, "BLOCK_TASKS", BLOCK)  # many blocks: matches inside and across them
    texts = shopping_prompts(2500, seed=11)
    # Eval tasks close to some training prompts, so decontamination has work in the workers too.
    evals = [dict(t, id=f"eval{t['id']}") for t in as_tasks([texts[i] + " Please" for i in range(0, 2500, 250)])]
    runs = {}
    for workers in (1, 2, 3):
        cfg = section_defaults("curate", near_duplicate_threshold=0.7, scorer=scorer, workers=workers)
        runs[workers] = curate([as_tasks(texts)], evals, cfg, progress=io.StringIO())
    kept, dropped, report = runs[1]
    for workers in (2, 3):
        kept_n, dropped_n, report_n = runs[workers]
        assert [t["id"] for t in kept_n] == [t["id"] for t in kept]
        pd.testing.assert_frame_equal(dropped_n, dropped)
        assert report_n["total"] == report["total"]
        # The main process scores the merged lists in kept order, as one process does.
        assert report_n["pairs_scored_exactly"] == report["pairs_scored_exactly"] > 0
        assert report_n["pairs_bounded"] == report["pairs_bounded"]
    assert report["total"]["reasons"]["contaminated"] >= 10
    near = dropped[dropped["reason"] == "near_duplicate"]
    # The workers bound a block while the main process scores the one before, so a match lies
    # in the block itself, in the block before (both in the main process's small index) or
    # further back (the shares): each part of the search must have had matches to find.
    blocks_back = near["id"].astype(int) // BLOCK - near["duplicate_of"].astype(int) // BLOCK
    assert (blocks_back == 0).sum() > 10
    assert (blocks_back == 1).sum() > 10
    assert (blocks_back >= 2).sum() > 100


def test_a_failed_worker_is_reported_with_its_own_error():
    """The worker's error used to reach curate as a BrokenPipeError, which said nothing of it."""
    tasks = [{"id": str(i), "input_field": f"write about lamp number {i} please", "output_field": "x",
              "task_type": "generation", "source": "s"} for i in range(3000)]  # fmt: skip
    evals = [{"id": f"e{i}", "input_field": f"eval lamp {i}", "output_field": "x", "task_type": "generation",
              "source": "eval"} for i in range(5)]  # fmt: skip
    # A threshold no config can carry now (validation refuses NaN); a worker fails on it.
    cfg = section_defaults("curate", near_duplicate_threshold=float("nan"), workers=2)
    with pytest.raises(RuntimeError, match="a search worker stopped: ValueError: cannot convert float NaN"):
        curate([tasks], evals, cfg, progress=io.StringIO())
