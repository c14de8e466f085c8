"""The judge's answers read back, the gate's config checked before any job, and the funnel's
gate rows accounted for."""

import copy
import json

import pandas as pd
import pytest
import yaml

from shoplora.config.check import ConfigError, check_config
from shoplora.curation.funnel import generation_funnel
from shoplora.io.accounting import AccountingError
from shoplora.verification.judge import read_verdict, render, template_problem
from shoplora.verification.plan import plan_problems

from conftest import REPO

DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
GOOD = {"reasonable": True, "answer_correct": False, "score": 2, "reason": "Option 2 is a lamp."}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD) + "\n```",
        "Here is my verdict: " + json.dumps(GOOD) + " Hope this helps.",
        json.dumps({**GOOD, "confidence": "high"}),  # a key of a hosted model's own
    ],
)
def test_a_verdict_is_read_from_json_in_any_output_mode(text):
    assert read_verdict(text) == ({**GOOD, **json.loads(text[text.index("{") : text.rindex("}") + 1])}, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("looks fine", "judge_not_json"),
        ("{not json}", "judge_not_json"),
        (None, "judge_not_json"),
        (json.dumps({**GOOD, "reasonable": "yes"}), "judge_schema:reasonable"),
        (json.dumps({**GOOD, "score": 0}), "judge_schema:score"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "answer_correct"}), "judge_schema:answer_correct"),
        (json.dumps([GOOD, GOOD]), "judge_not_json"),  # two verdicts for one task
        ("5", "judge_schema:verdict"),
    ],
)
def test_an_unreadable_verdict_gives_a_reason(text, reason):
    assert read_verdict(text) == (None, reason)


def test_judge_prompts_are_checked_and_show_the_answer_a_model_would_give():
    assert template_problem("{input_field} {output_field} {task_type}") is None
    assert "unknown placeholder {answer}" in template_problem("{input_field} {output_field} {answer}")
    assert "no {output_field}" in template_problem("{input_field}")
    assert "literal brace" in template_problem("{input_field} {output_field} {")
    ranking = {"task_type": "ranking", "input_field": "Rank\n1. a\n2. b", "output_field": [2, 1]}
    assert render("{input_field} => {output_field}", ranking) == "Rank\n1. a\n2. b => [2, 1]"
    for path in sorted((REPO / "resources/prompts/judge").glob("*.txt")):
        assert template_problem(path.read_text()) is None, path


def config_with(**sections):
    config = copy.deepcopy(DEFAULT)
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    return config


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"verify": {"verifier": "nobody"}}, "verify.verifier: no provider 'nobody'"),
        ({"verify": {"providers": {"local": {"kind": "openai", "model": "m", "base_url": "http://x/v1"}}}},
         "verify.providers.local: the name is taken"),
        ({"verify": {"judge": "j", "providers": {"j": {"kind": "openai", "model": "m"}}}},
         "verify.providers.j.base_url: required"),
        ({"verify": {"judge_prompts": "resources/judges"}}, "file not found: resources/judges/ranking.txt"),
        ({"review": {"verdicts": "results/review/sheet.csv"}}, "review.verdicts"),
        ({"verify": {"mode": "maybe"}}, "verify.mode"),
    ],
)  # fmt: skip
def test_the_gates_config_is_checked_before_any_job(tmp_path, sections, message):
    if sections.get("review", {}).get("verdicts", "").startswith("results/"):
        (tmp_path / "results/review").mkdir(parents=True)
        (tmp_path / "results/review/sheet.csv").write_text("id,human_verdict\n")
        for name in ("resources", "config"):
            (tmp_path / name).symlink_to(REPO / name)
        base = tmp_path
    else:
        base = REPO
    with pytest.raises(ConfigError, match=message):
        check_config(config_with(**sections), SCHEMA, base_dir=base)


def test_a_judge_prompt_that_cannot_be_rendered_stops_the_plan(tmp_path):
    (tmp_path / "ranking.txt").write_text("{input_field} {answer}")
    config = check_config(config_with(), SCHEMA, base_dir=REPO)
    config["verify"]["judge_prompts"] = str(tmp_path)
    assert plan_problems(config) == [f"{tmp_path}/ranking.txt: " + template_problem("{input_field} {answer}")]


def gate_summary(kept, dropped):
    return {"per_task_type": {"ranking": {"answer_checked": 3, "judged": 3, "unverified": 0, "failed_gate": dropped,
            "flagged": 0, "kept": kept, "dropped_by_reason": {"answer_disagrees": dropped} if dropped else {},
            "human_rejected": 0}}}  # fmt: skip


def test_the_funnel_carries_the_gates_rows_and_checks_them():
    parse = {"p": {"ranking": {"requested": 5, "read": 4, "valid": 3, "failures": {"schema:x": 1}}}}
    tasks = [{"id": f"t{i}", "task_type": "ranking", "source": "generated:p"} for i in range(2)]
    dropped = pd.DataFrame({"id": ["t1"], "source": ["generated:p"], "reason": ["near_duplicate"]})
    funnel = generation_funnel(parse, [tasks], tasks[:1], dropped, {"p": gate_summary(2, 1)})
    counts = funnel["p"]["ranking"]
    assert list(counts) == ["requested", "read", "valid", "parse_failures", "gate", "kept", "curation_drops"]
    assert counts["gate"]["dropped_by_reason"] == {"answer_disagrees": 1} and counts["kept"] == 1
    with pytest.raises(AccountingError, match="3 valid items but 3 kept \\+ 1 dropped by the quality gate"):
        generation_funnel(parse, [tasks], tasks[:1], dropped, {"p": gate_summary(3, 1)})
