import json

import pandas as pd
import pytest

from shoplora import plots
from shoplora.atomic import atomic_dir, atomic_path, write_json
from shoplora.table import summary_table, to_markdown


def score(model, task_type, value, n=4, fail=0.0):
    return {"model": model, "task_type": task_type, "metric": "accuracy", "n": n, "score": value,
            "parse_failure_rate": fail}


def test_summary_table_delta_and_macro_average():
    table = summary_table([score("base", "ranking", 0.2), score("finetuned", "ranking", 0.5, fail=0.25),
                           score("base", "generation", 0.4), score("finetuned", "generation", 0.3)])
    assert table["task_type"].tolist() == ["generation", "ranking", "macro-average"]
    assert table["delta"].tolist() == pytest.approx([-0.1, 0.3, 0.1])
    assert table.iloc[2]["n"] == 8 and table.iloc[2]["finetuned_parse_failure_rate"] == pytest.approx(0.125)
    md = to_markdown(table, "strict")
    assert md.startswith("Answers parsed in **strict** mode.") and "| ranking | accuracy | 4 | 0.2000 | 0.5000 |" in md


def test_summary_table_needs_both_models():
    with pytest.raises(ValueError, match="need base and finetuned"):
        summary_table([score("base", "ranking", 0.2)])


def test_plots_write_png(tmp_path):
    state = tmp_path / "trainer_state.json"
    state.write_text(json.dumps({"log_history": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5},
                                                 {"step": 2, "eval_loss": 1.7}]}))
    plots.loss_curves(state, tmp_path / "loss.png", "SFT", chosen_step=2)
    plots.score_bars(pd.DataFrame([{"task_type": "ranking", "base": 0.1, "finetuned": 0.3}]), tmp_path / "bars.png")
    plots.placeholder(tmp_path / "off.png", "switched off")
    for name in ("loss.png", "bars.png", "off.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_atomic_writes_leave_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1} and len(list(tmp_path.iterdir())) == 1
    folder = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_dir(folder) as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError("killed")
    assert not folder.exists() and len(list(tmp_path.iterdir())) == 1
