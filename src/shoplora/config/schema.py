"""The config schema, and the defaults it declares applied to a config (the only source of defaults)."""

import copy
import math
from functools import cache
from pathlib import Path

import yaml

# Shipped in the package, so an installed shoplora (not only a checkout) can load it;
# workflow/schemas/config.schema.yaml, where Snakemake workflows keep theirs, links here.
SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


@cache
def _load(path):
    return yaml.safe_load(Path(path).read_text())


def load_schema(path=SCHEMA_PATH):
    """The parsed schema (a fresh copy: callers may change it)."""
    return copy.deepcopy(_load(str(path)))


def _path_of(error):
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def schema_errors(config, schema):
    """Every place `config` breaks `schema`, as 'config key <path>: <problem>' lines."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    return [f"config key {_path_of(e)}: {e.message}" for e in errors] + _non_finite(config)


def _non_finite(value, path=()):
    """YAML's .inf and .nan pass JSON Schema's `number` and its bounds (every comparison with
    NaN is false); no key of this workflow means either."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"config key {'.'.join(map(str, path)) or '(top level)'}: {value} is not a finite number"]
    if isinstance(value, dict):
        return [p for key, sub in value.items() for p in _non_finite(sub, (*path, key))]
    if isinstance(value, list):
        return [p for i, sub in enumerate(value) for p in _non_finite(sub, (*path, i))]
    return []


def resolve(node, schema):
    """`node` with a local `$ref` merged in (its own keys win), as JSON Schema 2020-12 reads it."""
    while isinstance(node, dict) and "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        merged = {**target, **rest}
        if "properties" in target and "properties" in rest:
            merged["properties"] = {**target["properties"], **rest["properties"]}
        node = merged
    return node


def apply_defaults(value, node, schema):
    """Fill every key the schema gives a default and `value` lacks, recursively, in place."""
    node = resolve(node, schema)
    if not isinstance(value, dict) or not isinstance(node, dict):
        return value
    properties = node.get("properties", {})
    for key, sub in properties.items():
        sub = resolve(sub, schema)
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
        if key in value:
            apply_defaults(value[key], sub, schema)
    entries = node.get("additionalProperties")
    if isinstance(entries, dict):
        for key in value.keys() - properties.keys():
            apply_defaults(value[key], entries, schema)
    return value


def node_at(schema, *keys):
    """The schema of a config section: keys name properties, '*' an entry of a named-entries map."""
    node = resolve(schema, schema)
    for key in keys:
        node = resolve(node["additionalProperties"] if key == "*" else node["properties"][key], schema)
    return node


def results_only(section, *keys, schema=None):
    """`section` without its tuning keys (`x-tuning: true` in the schema at `keys`): what a
    rule passes as params, so that a key that changes no output re-runs no job."""
    schema = schema or load_schema()
    node = node_at(schema, *keys)
    tuning = {key for key, sub in node.get("properties", {}).items() if resolve(sub, schema).get("x-tuning")}
    return {key: value for key, value in section.items() if key not in tuning}


def tuning_keys(schema=None):
    """Every tuning key's path, e.g. ("generation", "providers", "*", "timeouts")."""
    schema = schema or load_schema()
    found = []

    def walk(node, path):
        node = resolve(node, schema)
        if not isinstance(node, dict):
            return
        for key, sub in node.get("properties", {}).items():
            if resolve(sub, schema).get("x-tuning"):
                found.append((*path, key))
            else:
                walk(sub, (*path, key))
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, "*"))

    walk(schema, ())
    return found


def section_defaults(*keys, schema=None, **overrides):
    """A config section built from the schema's defaults, with `overrides` on top.

    For callers outside Snakemake (tests, benchmarks, the score command) that need a whole
    section: `section_defaults("generation", "providers", "*", kind="openai", ...)`.
    """
    schema = schema or load_schema()
    return apply_defaults(dict(overrides), node_at(schema, *keys), schema)
