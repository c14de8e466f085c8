"""The chat templates LLaMA-Factory knows, read from its source without importing it.

Importing llamafactory takes seconds (it loads torch and transformers); the config is checked
at every Snakemake start, dry runs included. Its template module registers each template with
a literal `register_template(name="...")`, which the syntax tree gives directly.
"""

import ast
import importlib.util
from functools import cache
from pathlib import Path


@cache
def llamafactory_templates():
    """Template names, or None when LLaMA-Factory is not installed where Snakemake runs."""
    spec = importlib.util.find_spec("llamafactory")
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(list(spec.submodule_search_locations)[0]) / "data" / "template.py"
    if not source.exists():
        return None
    names = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register_template":
            for keyword in node.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    names.add(keyword.value.value)
    return frozenset(names) or None
