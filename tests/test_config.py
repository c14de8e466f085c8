import copy
import re

import pytest
import yaml

from shoplora.config_check import ConfigError, check_config

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
                sub = {**schema["$defs"][sub["$ref"].rsplit("/", 1)[1]], **sub,
                       "properties": {**schema["$defs"][sub["$ref"].rsplit("/", 1)[1]].get("properties", {}),
                                      **sub.get("properties", {})}}
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


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["curate"].update(near_duplicate_threshold="high"),
     "config key curate.near_duplicate_threshold: 'high' is not of type 'number'"),
    (lambda c: c["eval_sets"].update({"my set": "resources/eval/generation.jsonl"}),
     "config key eval_sets: 'my set' does not match"),
    (lambda c: c["infer"]["max_new_tokens"].update(poetry=8),
     "config key infer.max_new_tokens: 'poetry' is not one of"),
    (lambda c: c.update(seed_tasks="resources/seed/missing.jsonl"),
     "config key seed_tasks: file not found: resources/seed/missing.jsonl"),
    (lambda c: c["train_sft"].update(lora_rank=0), "config key train_sft.lora_rank: 0 is less than the minimum of 1"),
    (lambda c: c["curate"].update(tokenizer="unicode"),
     "config key curate.tokenizer: 'unicode' needs curate.scorer 'rouge-score'"),
    (lambda c: c.update(unknown_section={}), "Additional properties are not allowed ('unknown_section'"),
])
def test_bad_config_names_the_key(mutate, message):
    config = copy.deepcopy(DEFAULT)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA, base_dir=REPO)
    assert message in str(err.value)


def test_malformed_config_stops_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path, {"curate": {"near_duplicate_threshold": "high"}})
    proc = run_snakemake(workdir, "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "config key curate.near_duplicate_threshold" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()
