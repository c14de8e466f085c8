"""config/README.md, generated from the schema so that the two cannot disagree.

`python -m shoplora.config.docs > config/README.md` (or `make config-docs`) rewrites it; a test
fails when the file is stale.
"""

import json
import sys

from shoplora.config.schema import load_schema, resolve

INTRO = """\
`config/config.yaml` is the embedded default (a 135M model on a CPU). Every key is validated
by `workflow/schemas/config.schema.yaml` before any job starts; a bad value stops the run with
the key's path in the message (for example `config key curate.near_duplicate_threshold: 'high'
is not of type 'number'`). Paths are relative to the working directory (`snakemake -d`).
Each stage reads only its own section, so changing a section re-runs that stage and what is
downstream of it, never an upstream stage. Keys marked *tuning* change how a job runs (speed,
memory, patience with a provider), never what it writes: changing one re-runs no job.

Use another file with `snakemake --configfile my.yaml`: it replaces this one (Snakemake would
merge them, so a real config would inherit the default's corpus sources and providers; the
Snakefile loads `config/config.yaml` only when no `--configfile` is given). Keys the file leaves
out take the defaults below, which live in the schema alone. `config/real.yaml` is a starting
point for a real run. In key names, `*` stands for an entry's own name (a source, a provider)."""


def _default(node, required):
    if "default" not in node:
        return "required" if required else "—"
    value = node["default"]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    return f"`{value if isinstance(value, str) else json.dumps(value)}`"


def _rows(node, schema, prefix=""):
    """(key path, schema node, required) for every key below `node`, depth first."""
    required = set(node.get("required", []))
    for key, sub in node.get("properties", {}).items():
        sub = resolve(sub, schema)
        yield prefix + key, sub, key in required
        yield from _rows(sub, schema, f"{prefix}{key}.")
    entries = node.get("additionalProperties")
    if isinstance(entries, dict):
        entries = resolve(entries, schema)
        yield from _rows(entries, schema, f"{prefix}*.")


def _cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def _meaning(node):
    text = _cell(node.get("description", ""))
    return f"*tuning:* {text}" if node.get("x-tuning") else text


def render(schema=None):
    schema = schema or load_schema()
    top_required = set(schema.get("required", []))
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from workflow/schemas/config.schema.yaml by `make config-docs`: edit the schema. -->",
        "",
        INTRO,
    ]
    shown_refs = {}
    for section, raw in schema["properties"].items():
        node = resolve(raw, schema)
        lines += ["", f"## `{section}`", "", _cell(node.get("description", ""))]
        ref = raw.get("$ref")
        if ref in shown_refs:
            lines += ["", f"Takes the same keys as `{shown_refs[ref]}`."]
            continue
        if ref:
            shown_refs[ref] = section
        rows = list(_rows(node, schema)) or [(section, node, section in top_required)]
        lines += ["", "| key | default | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{key}` | {_default(sub, req)} | {_meaning(sub)} |" for key, sub, req in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
