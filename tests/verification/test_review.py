"""The reviewed sample: the sheet, a reviewer's verdicts read back, and what they measure."""

import csv
import random

import pytest
from scipy.stats import binomtest

from shoplora.verification.review import (
    SHEET_COLUMNS,
    VerdictFileError,
    read_verdicts,
    review_stats,
    sample,
    sheet_rows,
    wilson,
)
from shoplora.verification.review_page import render


def verdict(task_id, task_type, gate):
    return {"id": task_id, "task_type": task_type, "source": "generated:x", "gate": gate, "gate_reasons": [],
            "agreement": None, "answers": None, "judge": None, "judge_error": None, "decision": "kept",
            "reason": None}  # fmt: skip


def population(kept, rejected, task_type="ranking"):
    return [verdict(f"{task_type}-k{i}", task_type, "pass") for i in range(kept)] + [
        verdict(f"{task_type}-r{i}", task_type, "fail") for i in range(rejected)
    ]


@pytest.mark.parametrize(("bad", "n"), [(0, 1), (0, 10), (1, 10), (3, 7), (10, 10), (17, 40), (1, 250)])
def test_the_wilson_interval_equals_scipys(bad, n):
    reference = binomtest(bad, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson(bad, n)
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)
    assert wilson(0, 0) is None


def test_the_sample_is_half_rejected_half_kept_per_type_and_the_same_every_run():
    verdicts = population(30, 30, "ranking") + population(40, 2, "generation") + population(3, 0, "retrieval")
    random.Random(1).shuffle(verdicts)
    ids = sample(verdicts, 10, seed=0)
    by_id = {v["id"]: v for v in verdicts}
    counts = {}
    for task_id in ids:
        v = by_id[task_id]
        key = (v["task_type"], v["gate"])
        counts[key] = counts.get(key, 0) + 1
    # Too few rejected: all of them, the rest kept; too few tasks: all there are.
    assert counts == {("ranking", "fail"): 5, ("ranking", "pass"): 5, ("generation", "fail"): 2,
                      ("generation", "pass"): 8, ("retrieval", "pass"): 3}  # fmt: skip
    assert len(set(ids)) == len(ids)
    assert sample(list(reversed(verdicts)), 10, seed=0) == ids
    assert sample(verdicts, 10, seed=1) != ids


def write_sheet(path, rows, header=("id", "task_type", "human_verdict")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_verdicts_are_read_from_a_filled_sheet(tmp_path):
    path = write_sheet(
        tmp_path / "v.csv",
        [("a", "ranking", "ok"), ("b", "ranking", " BAD "), ("c", "ranking", ""), ("a", "ranking", "ok")],
    )
    assert read_verdicts(path) == {"a": "ok", "b": "bad"}


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("a", "x", "maybe")], ("id", "task_type", "human_verdict"), r"v.csv:2: field 'human_verdict' is 'maybe'"),
        ([("a", "x", "ok")], ("id", "task_type", "verdict"), r"v.csv:1: field 'human_verdict' is missing"),
        ([("a", "x", "ok"), ("b", "x", "ok"), ("a", "x", "bad")], ("id", "task_type", "human_verdict"),
         r"v.csv:4: field 'human_verdict': task a is also marked 'ok' on line 2"),
        ([("", "x", "bad")], ("id", "task_type", "human_verdict"), r"v.csv:2: field 'id' is empty"),
    ],
)  # fmt: skip
def test_a_bad_verdict_file_names_file_line_and_field(tmp_path, rows, header, message):
    with pytest.raises(VerdictFileError, match=message):
        read_verdicts(write_sheet(tmp_path / "v.csv", rows, header))


def test_a_prompt_over_several_lines_and_a_spreadsheet_bom_are_read(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text('\ufeffid,prompt,human_verdict\na,"line one\nline two",ok\nb,x,nope\n', encoding="utf-8")
    with pytest.raises(VerdictFileError, match=r"v.csv:4: field 'human_verdict'"):
        read_verdicts(path)
    (tmp_path / "w.csv").write_bytes(b"id,human_verdict\n\xff\xfe,ok\n")
    with pytest.raises(VerdictFileError, match="not UTF-8"):
        read_verdicts(tmp_path / "w.csv")


def test_stats_give_the_bad_share_among_kept_and_weighted_precision_and_recall():
    # 90 kept and 10 rejected rankings; 5 of each reviewed.
    verdicts = population(90, 10)
    human = {f"ranking-k{i}": ("bad" if i < 1 else "ok") for i in range(5)}
    human.update({f"ranking-r{i}": ("bad" if i < 4 else "ok") for i in range(5)})
    human["gone-task"] = "bad"
    stats = review_stats(verdicts, human)
    entry = stats["per_task_type"]["ranking"]
    assert (entry["reviewed"], entry["reviewed_kept"], entry["bad_kept"]) == (10, 5, 1)
    assert entry["bad_share_kept"] == pytest.approx(0.2)
    assert entry["bad_share_kept_wilson95"] == pytest.approx(list(wilson(1, 5)))
    # Each reviewed kept task stands for 18 tasks, each rejected one for 2: 4*2 true positives,
    # 1*2 false positives, 1*18 false negatives.
    assert entry["precision"] == pytest.approx(8 / 10)
    assert entry["recall"] == pytest.approx(8 / 26)
    assert stats["precision"] == pytest.approx(entry["precision"])
    assert stats["unmatched_verdicts"] == ["gone-task"]
    assert stats["reviewed"] == 10 and stats["verdicts"] == 11


def test_the_sheet_and_page_show_the_sample_with_earlier_verdicts(tmp_path):
    verdicts = population(4, 2)
    tasks = {v["id"]: {"input_field": f"Rank <b>{v['id']}</b>\n1. a", "output_field": [1]} for v in verdicts}
    ids = sample(verdicts, 4, seed=0)
    rows = sheet_rows(ids, verdicts, tasks, {ids[0]: "bad"})
    assert [r["id"] for r in rows] == ids and set(rows[0]) == set(SHEET_COLUMNS)
    assert rows[0]["human_verdict"] == "bad" and rows[1]["human_verdict"] == ""
    page = render(rows, review_stats(verdicts, {ids[0]: "bad"}), "config/v.csv")
    assert "&lt;b&gt;" in page and "<b>ranking" not in page  # task text is escaped
    assert "95% Wilson" in page
    assert "No verdicts yet" in render(rows, None, None)
