"""Validate the workflow config before any job starts; errors name the key path or file."""

import glob
from pathlib import Path

import yaml


class ConfigError(ValueError):
    pass


def _path_of(error):
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def schema_errors(config, schema):
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    return [f"config key {_path_of(e)}: {e.message}"
            for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]


def missing_files(config, base_dir="."):
    base = Path(base_dir)
    wanted = [("seed_tasks", config.get("seed_tasks")),
              ("generation.prompt_template", config.get("generation", {}).get("prompt_template"))]
    wanted += [(f"eval_sets.{k}", v) for k, v in config.get("eval_sets", {}).items()]
    problems = []
    for key, path in wanted:
        if path and not (base / path).exists():
            problems.append(f"config key {key}: file not found: {path}")
    sources = [(f"corpus.sources.{n}", s) for n, s in config.get("corpus", {}).get("sources", {}).items()]
    sources += [(f"task_sets.{n}", s) for n, s in config.get("task_sets", {}).items()]
    for key, src in sources:
        if src.get("kind", "file") == "file" and src.get("path") and not glob.glob(str(base / src["path"])):
            problems.append(f"config key {key}.path: no file matches {src['path']}")
    model = config.get("base_model", {})
    required = {"gguf_package": "package", "hf": "hf_id", "path": "path"}.get(model.get("kind"))
    if required and not model.get(required):
        problems.append(f"config key base_model.{required}: required for kind {model['kind']}")
    for name, provider in config.get("generation", {}).get("providers", {}).items():
        if provider.get("kind") == "openai" and not provider.get("base_url"):
            problems.append(f"config key generation.providers.{name}.base_url: required for kind openai")
    curate = config.get("curate", {})
    if curate.get("tokenizer", "default") != "default" and curate.get("scorer", "rouge") != "rouge-score":
        problems.append("config key curate.tokenizer: 'unicode' needs curate.scorer 'rouge-score' "
                        "(the rouge package splits on spaces)")
    return problems


def check_config(config, schema_path, base_dir="."):
    """Raise ConfigError listing every problem; returns None when the config is usable."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    problems = schema_errors(config, schema)
    if not problems:
        problems = missing_files(config, base_dir)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
