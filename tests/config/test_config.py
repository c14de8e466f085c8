import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

from shoplora.config.check import ConfigError, check_config

from conftest import REPO, make_workdir, run_snakemake

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_default_config_is_valid():
    check_config(copy.deepcopy(DEFAULT), SCHEMA, base_dir=REPO)


def test_every_schema_key_has_description_and_is_documented():
    schema = yaml.safe_load(SCHEMA.read_text())
    readme = (REPO / "config/README.md").read_text()

    def walk(node, path):
        for key, sub in (node.get("properties") or {}).items():
            if "$ref" in sub:  # a shared definition: check its keys in this place too
                sub = {
                    **schema["$defs"][sub["$ref"].rsplit("/", 1)[1]],
                    **sub,
                    "properties": {
                        **schema["$defs"][sub["$ref"].rsplit("/", 1)[1]].get("properties", {}),
                        **sub.get("properties", {}),
                    },
                }
            assert "description" in sub or "description" in node["properties"][key], f"{path}{key}"
            assert re.search(rf"`[\w.*]*\b{re.escape(key)}`", readme), f"config/README.md does not document {path}{key}"
            walk(sub, f"{path}{key}.")
            extra = sub.get("additionalProperties")
            if isinstance(extra, dict):
                if "$ref" in extra:
                    defn = schema["$defs"][extra["$ref"].rsplit("/", 1)[1]]
                    extra = {**extra, "properties": {**defn.get("properties", {}), **extra.get("properties", {})}}
                walk(extra, f"{path}{key}.*.")

    walk(schema, "")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c["curate"].update(near_duplicate_threshold="high"),
            "config key curate.near_duplicate_threshold: 'high' is not of type 'number'",
        ),
        (
            lambda c: c["eval_sets"].update({"my set": "resources/eval/generation.jsonl"}),
            "config key eval_sets: 'my set' does not match",
        ),
        (
            lambda c: c["infer"]["max_new_tokens"].update(poetry=8),
            "config key infer.max_new_tokens: 'poetry' is not one of",
        ),
        (
            lambda c: c.update(seed_tasks="resources/seed/missing.jsonl"),
            "config key seed_tasks: file not found: resources/seed/missing.jsonl",
        ),
        (
            lambda c: c["train_sft"].update(lora_rank=0),
            "config key train_sft.lora_rank: 0 is less than the minimum of 1",
        ),
        # A template LLaMA-Factory lacks used to pass until train_pt, after paid generation.
        (
            lambda c: c["base_model"].update(template="smolm2"),
            "config key base_model.template: LLaMA-Factory has no template 'smolm2' (similar: ",
        ),
        # 0 and -1 used to mean "a whole epoch" silently.
        (
            lambda c: c["train_sft"].update(max_steps=0),
            "config key train_sft.max_steps: 0 is less than the minimum of 1",
        ),
        (
            lambda c: c["train_pt"].update(max_steps=-1),
            "config key train_pt.max_steps: -1 is less than the minimum of 1",
        ),
        (
            lambda c: c["curate"].update(tokenizer="unicode"),
            "config key curate.tokenizer: 'unicode' needs curate.scorer 'rouge-score'",
        ),
        (lambda c: c.update(unknown_section={}), "Additional properties are not allowed ('unknown_section'"),
        # YAML's .inf and .nan pass a schema's number type and bounds.
        (lambda c: c["train_sft"].update(learning_rate=float("inf")), "config key train_sft.learning_rate: inf is not"),
        (
            lambda c: c["curate"].update(near_duplicate_threshold=float("nan")),
            "config key curate.near_duplicate_threshold: nan is not a finite number",
        ),
        # The local server answered these 500 and the client retried them as server errors.
        (
            lambda c: c["generation"]["providers"]["local"]["sampling"].update(max_tokens=-5),
            "config key generation.providers.local.sampling.max_tokens: -5 is less than the minimum of 1",
        ),
        (
            lambda c: c["generation"]["providers"]["local"]["sampling"].update(repetition_penalty=float("nan")),
            "config key generation.providers.local.sampling.repetition_penalty: nan is not a finite number",
        ),
        (
            lambda c: c["generation"]["providers"]["local"]["sampling"].update(temperature=-1),
            "config key generation.providers.local.sampling.temperature: -1 is less than the minimum of 0",
        ),
    ],
)
def test_bad_config_names_the_key(mutate, message):
    config = copy.deepcopy(DEFAULT)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA, base_dir=REPO)
    assert message in str(err.value)


@pytest.mark.workflow
def test_malformed_config_stops_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path, {"curate": {"near_duplicate_threshold": "high"}})
    proc = run_snakemake(workdir, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "config key curate.near_duplicate_threshold" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()


@pytest.mark.workflow
def test_a_misspelled_template_placeholder_stops_the_dry_run(tmp_path):
    workdir = make_workdir(tmp_path, {"generation": {"prompt_templates": "prompts"}})
    shutil.copytree(REPO / "resources/prompts", workdir / "prompts")
    template = workdir / "prompts/ranking.txt"
    template.write_text(template.read_text().replace("{examples}", "{exmaples}"))
    proc = run_snakemake(workdir, "-n", check=False)
    assert proc.returncode != 0
    assert "prompts/ranking.txt: unknown placeholder {exmaples}" in proc.stdout + proc.stderr


def test_config_readme_is_generated_from_the_schema():
    from shoplora.config.docs import render

    assert (REPO / "config/README.md").read_text() == render(), "config/README.md is stale: run `make config-docs`"


def test_validation_fills_every_schema_default_and_keeps_given_values():
    config = copy.deepcopy(DEFAULT)
    del config["curate"]["scorer"], config["cluster"], config["infer"]["max_new_tokens"]["generation"]
    config["generation"]["providers"]["local"].pop("timeouts")
    check_config(config, SCHEMA, base_dir=REPO)
    assert config["curate"]["scorer"] == "rouge" and config["cluster"] == {
        "network_rules_on_submit_host": False,
        "require_cuda": True,
    }
    assert config["infer"]["max_new_tokens"]["generation"] == 64 and config["infer"]["max_new_tokens"]["ranking"] == 24
    assert config["generation"]["providers"]["local"]["timeouts"] == {"connect": 10, "read": 300, "total": None}
    assert config["generation"]["providers"]["local"]["backoff_cap_s"] == 60.0  # not in config.yaml at all
    assert config["task_sets"] == {} and config["train_sft"]["enabled"] is True


def test_library_code_restates_no_schema_default():
    """`.get("key", literal)` for a key the schema gives a default would be a second source."""
    import ast

    schema = yaml.safe_load(SCHEMA.read_text())
    defaulted = set()

    def collect(node):
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and "default" in sub:
                    defaulted.add(key)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    defaulted -= {"task_type"}  # also a task record's field, read from records with .get
    offenders = []
    for path in [*(REPO / "src").rglob("*.py"), *(REPO / "workflow/scripts").glob("*.py")]:
        for call in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "get"
                and len(call.args) == 2
                and isinstance(call.args[0], ast.Constant)
                and call.args[0].value in defaulted
                and isinstance(call.args[1], (ast.Constant, ast.Dict))
            ):
                offenders.append(f"{path.relative_to(REPO)}:{call.lineno} .get({call.args[0].value!r}, ...)")
    assert not offenders, offenders


def test_task_type_enum_is_the_registry():
    from shoplora.tasks.types import task_types

    schema = yaml.safe_load(SCHEMA.read_text())
    assert schema["$defs"]["task_type"]["enum"] == list(task_types())
    assert list(schema["properties"]["infer"]["properties"]["max_new_tokens"]["properties"]) == list(task_types())


@pytest.mark.parametrize(
    "row, message",
    [
        # A string answer used to be accepted, and every correct answer then scored 0.
        (
            {"input_field": "Pick one\n0. a\n1. b", "output_field": "1", "task_type": "multiple-choice"},
            "bad.jsonl:2: field 'output_field' is '1', but a multiple-choice answer must be an integer",
        ),
        (
            {"input_field": "Pick one\n0. a\n1. b", "output_field": 7, "task_type": "multiple-choice"},
            "bad.jsonl:2: field 'output_field' is 7, which is not one of the options [0, 1]",
        ),
        (
            {"input_field": "Which brands?", "output_field": "Acme", "task_type": "named_entity_recognition"},
            "bad.jsonl:2: field 'output_field' is 'Acme', but a named_entity_recognition answer must be a list",
        ),
        # A metric that cannot read the type's answers scored every row 0, the reason only in
        # the rows file; an unknown one failed after inference.
        (
            {
                "input_field": "Pick one\n0. a\n1. b",
                "output_field": 1,
                "task_type": "multiple-choice",
                "metric": "micro f1",
            },
            "bad.jsonl:2: field 'metric' is 'micro f1', which scores a list of non-empty strings, but a "
            "multiple-choice answer is an integer",
        ),
        (
            {
                "input_field": "Pick one\n0. a\n1. b",
                "output_field": 1,
                "task_type": "multiple-choice",
                "metric": "acuracy",
            },
            "bad.jsonl:2: field 'metric' has unknown value 'acuracy'; expected one of accuracy, hit rate@3",
        ),
        (
            {"input_field": "Rank\n1. a\n2. b", "output_field": [], "task_type": "ranking"},
            "bad.jsonl:2: field 'output_field' is [], but a ranking answer must not be empty",
        ),
    ],
)
def test_a_bad_eval_row_stops_the_run_naming_file_line_and_field(tmp_path, row, message):
    good = {"input_field": "Pick one\n0. a\n1. b", "output_field": 1, "task_type": "multiple-choice"}
    (tmp_path / "bad.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    config = copy.deepcopy(DEFAULT)
    config["eval_sets"] = {"mine": str(tmp_path / "bad.jsonl")}
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA, base_dir=REPO)
    assert "config key eval_sets.mine: " in str(err.value) and message in str(err.value)


def test_an_empty_eval_set_is_an_error_not_a_missing_row_of_the_table(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    config = copy.deepcopy(DEFAULT)
    config["eval_sets"]["empty"] = str(tmp_path / "empty.jsonl")
    with pytest.raises(ConfigError, match="config key eval_sets.empty: .*empty.jsonl: the file is empty"):
        check_config(config, SCHEMA, base_dir=REPO)


def test_official_eval_rows_pass_the_eval_check():
    config = copy.deepcopy(DEFAULT)
    config["eval_sets"]["kddcup_dev"] = "tests/data/development_sample.jsonl"
    check_config(config, SCHEMA, base_dir=REPO)


@pytest.mark.workflow
def test_broken_yaml_names_file_line_and_column(tmp_path):
    workdir = make_workdir(tmp_path)
    text = (workdir / "config/config.yaml").read_text()
    (workdir / "config/config.yaml").write_text(text.replace("template: smollm2", "template: [smollm2", 1))
    proc = run_snakemake(workdir, "-n", check=False)
    assert proc.returncode != 0
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "template: smollm2" in row) + 1
    assert re.search(rf"config/config.yaml:{line}:\d+: not valid YAML", proc.stdout + proc.stderr)


def test_schema_task_type_blocks_are_generated_from_the_registry():
    from shoplora.config import task_type_schema

    text = SCHEMA.read_text()
    assert task_type_schema.render(text) == text, "the schema's task-type blocks are stale: run `make config-docs`"
    # A changed default in a spec reaches the schema's block (and nothing else changes).
    from dataclasses import replace

    from shoplora.tasks import types

    ranking = types.spec("ranking")
    types.register(replace(ranking, max_new_tokens=7))
    try:
        changed = task_type_schema.render(text)
    finally:
        types.register(ranking)
    diff = [(a, b) for a, b in zip(text.splitlines(), changed.splitlines()) if a != b]
    assert len(diff) == 1 and "ranking: {type: integer, minimum: 1, default: 7," in diff[0][1]


@pytest.mark.workflow  # builds a wheel (a pip subprocess, about 2 s)
def test_schema_is_package_data_of_an_installed_shoplora(tmp_path):
    import shutil
    import sys
    import zipfile

    from shoplora.config.schema import SCHEMA_PATH

    assert SCHEMA.resolve() == SCHEMA_PATH.resolve()  # workflow/schemas links to the shipped file
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", ".", "-w", "dist"]
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("shoplora-*.whl")
    assert "shoplora/config/config.schema.yaml" in zipfile.ZipFile(wheel).namelist()
