"""Validate the workflow config before any job starts; errors name the key path or file."""

from pathlib import Path

from shoplora.config.ablations import ablation_problems
from shoplora.config.schema import SCHEMA_PATH, apply_defaults, load_schema, schema_errors
from shoplora.config.templates import llamafactory_templates
from shoplora.io.paths import matching_files
from shoplora.tasks.records import TaskFormatError, load_tasks
from shoplora.tasks.validity import eval_row_problem


class ConfigError(ValueError):
    pass


def missing_files(config, base_dir="."):
    """Problems a schema cannot see: files that do not exist, keys one kind needs. Defaults applied."""
    base = Path(base_dir)
    wanted = [
        ("seed_tasks", config["seed_tasks"]),
    ]
    template_dir = config["generation"]["prompt_templates"]
    for name, provider in config["generation"]["providers"].items():
        wanted += [
            (
                f"generation.providers.{name}.task_mix.{task_type} (generation.prompt_templates)",
                f"{template_dir}/{task_type}.txt",
            )
            for task_type, weight in provider["task_mix"].items()
            if weight > 0
        ]
    wanted += [(f"eval_sets.{k}", v) for k, v in config["eval_sets"].items()]
    wanted += [(f"select_checkpoint.dev_sets.{k}", v) for k, v in config["select_checkpoint"]["dev_sets"].items()]
    problems = [
        f"config key generation.providers.{name}.task_mix: no task type has a weight above 0"
        for name, provider in config["generation"]["providers"].items()
        if not any(weight > 0 for weight in provider["task_mix"].values())
    ]
    for key, path in wanted:
        if path and not (base / path).exists():
            problems.append(f"config key {key}: file not found: {path}")
        elif key.startswith(("eval_sets.", "select_checkpoint.dev_sets.")):
            # A bad answer would otherwise score 0 for every model, silently.
            try:
                load_tasks(base / path, key, check=eval_row_problem)
            except TaskFormatError as err:
                problems.append(f"config key {key}: {err}")
    sources = [(f"corpus.sources.{n}", s) for n, s in config["corpus"]["sources"].items()]
    sources += [(f"task_sets.{n}", s) for n, s in config["task_sets"].items()]
    for key, src in sources:
        if src["kind"] == "file" and not matching_files(base / src["path"]):
            problems.append(f"config key {key}.path: no file matches {src['path']}")
    model = config["base_model"]
    required = {"gguf_package": "package", "hf": "hf_id", "path": "path"}[model["kind"]]
    if not model.get(required):
        problems.append(f"config key base_model.{required}: required for kind {model['kind']}")
    for name, provider in config["generation"]["providers"].items():
        if provider["kind"] == "openai" and not provider["base_url"]:
            problems.append(f"config key generation.providers.{name}.base_url: required for kind openai")
    problems += gate_problems(config, base)
    known = llamafactory_templates()
    template = config["base_model"]["template"]
    if known is not None and template not in known:
        close = sorted(n for n in known if n[:2] == template[:2])[:8]
        problems.append(
            f"config key base_model.template: LLaMA-Factory has no template {template!r}"
            + (f" (similar: {', '.join(close)})" if close else "")
        )
    selection = config["select_checkpoint"]
    if selection["by"] == "dev_score" and not selection["dev_sets"]:
        problems.append("config key select_checkpoint.dev_sets: `by: dev_score` needs at least one dev set")
    curate = config["curate"]
    if curate["tokenizer"] != "default" and curate["scorer"] != "rouge-score":
        problems.append(
            "config key curate.tokenizer: 'unicode' needs curate.scorer 'rouge-score' "
            "(the rouge package splits on spaces)"
        )
    return problems


def gate_problems(config, base):
    """The quality gate's keys: providers that exist, a judge prompt per generated type, a
    verdict file that exists and lives outside results/ (the sheet there is rewritten)."""
    gate, providers = config["verify"], config["generation"]["providers"]
    if not gate["enabled"] or not providers:
        return []
    known = [*providers, *gate["providers"]]
    problems = [
        f"config key verify.providers.{name}: the name is taken by generation.providers.{name}"
        for name in gate["providers"]
        if name in providers
    ]
    problems += [
        f"config key verify.{role}: no provider {gate[role]!r} in generation.providers or verify.providers "
        f"({', '.join(known)})"
        for role in ("verifier", "judge")
        if gate[role] is not None and gate[role] not in known
    ]
    problems += [
        f"config key verify.providers.{name}.base_url: required for kind openai"
        for name, provider in gate["providers"].items()
        if provider["kind"] == "openai" and not provider["base_url"]
    ]
    types = sorted({t for p in providers.values() for t, weight in p["task_mix"].items() if weight > 0})
    for task_type in types:
        path = f"{gate['judge_prompts']}/{task_type}.txt"
        if not (base / path).is_file():
            problems.append(f"config key verify.judge_prompts: file not found: {path} (a judge prompt per task type)")
    verdicts = config["review"]["verdicts"]
    if verdicts:
        if not (base / verdicts).is_file():
            problems.append(f"config key review.verdicts: file not found: {verdicts}")
        elif Path(verdicts).parts[:1] == ("results",):
            problems.append(
                "config key review.verdicts: a file under results/ is rewritten by the next run; "
                "copy the filled sheet elsewhere (e.g. config/review_verdicts.csv) and point here"
            )
    return problems


def yaml_syntax_problem(path):
    """'file:line:column: problem' when `path` is not valid YAML, else None."""
    import yaml

    try:
        yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        return f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}"
    except (OSError, UnicodeDecodeError) as err:
        return f"{path}: cannot read the config file ({err})"
    return None


def check_config(config, schema_path=SCHEMA_PATH, base_dir="."):
    """Validate `config`, then fill in the schema's defaults in place.

    Raises ConfigError listing every problem; returns the (same) config when it is usable.
    """
    schema = load_schema(schema_path)
    problems = schema_errors(config, schema)
    if not problems:
        apply_defaults(config, schema, schema)
        problems = missing_files(config, base_dir) + ablation_problems(config, schema)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config
