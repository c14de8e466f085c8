"""What would stop `verify` once its server is up, found before any job starts."""

from pathlib import Path

from shoplora.verification.judge import template_problem


def gate_providers(config):
    """{role: provider section with its `name`} of the verifier and the judge: the configured
    provider (a generation or a verify-only one), else the first generation provider."""
    known = {**config["generation"]["providers"], **config["verify"]["providers"]}
    first = next(iter(config["generation"]["providers"]))
    names = {role: config["verify"][role] or first for role in ("verifier", "judge")}
    return {role: {**known[name], "name": name} for role, name in names.items()}


def plan_problems(config):
    """Judge prompts that cannot be rendered (config checks that they exist)."""
    gate = config["verify"]
    if not gate["enabled"]:
        return []
    problems = []
    for path in sorted(Path(gate["judge_prompts"]).glob("*.txt")):
        problem = template_problem(path.read_text(encoding="utf-8"))
        if problem:
            problems.append(f"{path}: {problem}")
    return problems
