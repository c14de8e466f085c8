import json

import pandas as pd
import pytest

import shoplora.evaluation.plots as plots
from shoplora.evaluation.table import summary_table, to_markdown, to_records


def task(name, task_type, value, n=4, failures=0, metric="accuracy", **extra):
    return {
        "task_name": name,
        "task_type": task_type,
        "metric": metric,
        "n": n,
        "score": value,
        "parse_failures": failures,
        **extra,
    }


def scores(model, *tasks):
    return {"model": model, "parse_mode": "strict", "per_task": list(tasks)}


def test_summary_table_per_type_per_task_and_macro_average_over_tasks():
    table = summary_table(
        [
            scores("base", task("r1", "ranking", 0.2, metric="ndcg"), task("r2", "ranking", 0.4, n=2, metric="ndcg")),
            scores(
                "finetuned",
                task("r1", "ranking", 0.5, failures=1, metric="ndcg"),
                task("r2", "ranking", 0.6, n=2, metric="ndcg"),
            ),
            scores("base", task("g1", "generation", 0.4, metric="rougel", bleu4=0.1, rougel=0.4)),
            scores("finetuned", task("g1", "generation", 0.3, metric="rougel", bleu4=0.2, rougel=0.3)),
        ]
    )
    assert table["level"].tolist() == ["task_type", "task_name", "task_type", "task_name", "task_name", "overall"]
    assert table["task_name"].tolist() == ["", "g1", "", "r1", "r2", ""]
    ranking = table.iloc[2]
    assert ranking["n"] == 6 and ranking["base"] == pytest.approx(0.3) and ranking["finetuned"] == pytest.approx(0.55)
    assert ranking["finetuned_parse_failure_rate"] == pytest.approx(1 / 6)
    macro = table.iloc[-1]
    # Over the three tasks, not over the two task types.
    assert macro["base"] == pytest.approx((0.2 + 0.4 + 0.4) / 3) and macro["n"] == 10
    assert (table["delta"] - (table["finetuned"] - table["base"])).abs().max() < 1e-12
    assert table.iloc[1]["finetuned_bleu4"] == pytest.approx(0.2) and pd.isna(ranking["base_bleu4"])
    records = to_records(table)
    assert records[2]["base_bleu4"] is None and json.loads(json.dumps(records, allow_nan=False))
    md = to_markdown(table, "strict")
    assert md.startswith("Answers parsed in **strict** mode.")
    # Scores without per-row records carry no interval: those cells stay empty.
    assert "| ranking | r1 | ndcg | 4 | 0.2000 |  | 0.5000 |  | 0.3000 |  |  | 0.0000 | 0.2500 |" in md
    assert "the study's extra columns" in md and "| generation | g1 | 0.1000 | 0.2000 | 0.4000 | 0.3000 |" in md


def test_summary_table_needs_both_models():
    with pytest.raises(ValueError, match="need base and finetuned"):
        summary_table([scores("base", task("r1", "ranking", 0.2))])


def test_plots_write_png(tmp_path):
    state = tmp_path / "trainer_state.json"
    state.write_text(
        json.dumps({"log_history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}, {"step": 2, "eval_loss": 1.7}]})
    )
    plots.loss_curves(state, tmp_path / "loss.png", "SFT", chosen_step=2)
    plots.score_bars(
        pd.DataFrame(
            [
                {"level": "task_type", "task_type": "ranking", "task_name": "", "base": 0.1, "finetuned": 0.3},
                {"level": "task_name", "task_type": "ranking", "task_name": "r1", "base": 0.1, "finetuned": 0.3},
            ]
        ),
        tmp_path / "bars.png",
    )
    plots.placeholder(tmp_path / "off.png", "switched off")
    for name in ("loss.png", "bars.png", "off.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
