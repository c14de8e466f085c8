"""The ablation table: each variant against the full recipe, with paired intervals."""

import pandas as pd
import pytest

from shoplora.evaluation.ablation_table import ablation_table, to_markdown
from shoplora.evaluation.plots import ablation_bars
from shoplora.evaluation.table import summary_table

from helpers.scores import scored

N = 60
BASE = [float(i % 5 == 0) for i in range(N)]  # 0.2
FULL = [float(i % 5 != 0) for i in range(N)]  # 0.8
WORSE = [float(i % 2 == 0) for i in range(N)]  # 0.5: clearly below the full recipe
SAME = FULL[1:] + FULL[:1]  # 0.8 on other examples: no real difference


def scores_of(model, values_by_task):
    out = []
    for (task_type, task_name), values in values_by_task.items():
        out.append(scored(model, task_name, values, task_type=task_type))
    return out


TASKS = [("multiple-choice", "mc_a"), ("ranking", "rank_a")]


def all_scores():
    scores = scores_of("base", {k: BASE for k in TASKS}) + scores_of("finetuned", {k: FULL for k in TASKS})
    scores += scores_of("ablation-no_pt", {TASKS[0]: WORSE, TASKS[1]: SAME})
    scores += scores_of("ablation-no_generated", {k: SAME for k in TASKS})
    return scores


ABLATIONS = {"no_pt": {"train_pt": {"enabled": False}}, "no_generated": {"curate": {"generated_tasks": False}}}


def test_a_row_per_variant_and_task_type_and_overall_with_the_difference_to_the_full_recipe():
    table = ablation_table(all_scores(), ABLATIONS, resamples=2000, seed=0)
    assert list(table["variant"]) == ["no_pt"] * 3 + ["no_generated"] * 3
    assert list(table["task_type"]) == ["multiple-choice", "ranking", "macro-average"] * 2
    rows = {(r["variant"], r["task_type"]): r for r in table.to_dict("records")}
    no_pt_mc = rows[("no_pt", "multiple-choice")]
    assert no_pt_mc["full"] == pytest.approx(0.8) and no_pt_mc["variant_score"] == pytest.approx(0.5)
    assert no_pt_mc["delta"] == pytest.approx(-0.3) and no_pt_mc["base"] == pytest.approx(0.2)
    assert no_pt_mc["significant"] and no_pt_mc["delta_ci_high"] < 0
    assert not rows[("no_pt", "ranking")]["significant"]
    assert rows[("no_pt", "macro-average")]["delta"] == pytest.approx(-0.15)
    assert not any(rows[("no_generated", t)]["significant"] for t in ("multiple-choice", "ranking", "macro-average"))
    assert '"enabled": false' in no_pt_mc["changes"]


def test_the_difference_and_its_interval_are_the_base_vs_finetuned_tables_with_the_full_recipe_as_base():
    table = ablation_table(all_scores(), ABLATIONS, resamples=500, seed=3)
    relabelled = [
        {**s, "model": {"finetuned": "base", "ablation-no_pt": "finetuned"}[s["model"]]}
        for s in all_scores()
        if s["model"] in ("finetuned", "ablation-no_pt")
    ]
    reference = summary_table(relabelled, 500, 3)
    reference = reference[reference["level"] != "task_name"].reset_index(drop=True)
    mine = table[table["variant"] == "no_pt"].reset_index(drop=True)
    pd.testing.assert_series_equal(mine["delta_ci_low"], reference["delta_ci_low"])
    pd.testing.assert_series_equal(mine["variant_score"], reference["finetuned"], check_names=False)


def test_a_variant_without_scores_for_a_task_is_an_error():
    scores = [
        s
        for s in all_scores()
        if not (s["model"] == "ablation-no_generated" and s["per_task"][0]["task_name"] == "rank_a")
    ]
    with pytest.raises(ValueError, match="rank_a"):
        ablation_table(scores, ABLATIONS, resamples=10)


def test_markdown_and_figure(tmp_path):
    table = ablation_table(all_scores(), ABLATIONS, resamples=500)
    md = to_markdown(table)
    assert md.count("| no_pt |") == 3 and md.count("| no_generated |") == 3
    assert (
        '| no_pt | `{"train_pt": {"enabled": false}}` | multiple-choice | 60 | 0.2000 | 0.8000 | 0.5000 | -0.3000 |'
        in md
    )
    ablation_bars(table, tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
