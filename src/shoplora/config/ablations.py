"""Ablation variants: the full recipe's config with a few keys changed, and what each reuses.

A variant names only the keys it changes (`ablations: {no_pt: {train_pt: {enabled: false}}}`).
Its sections are the full recipe's with those keys merged in, and each of its stages reuses the
full recipe's output when nothing that stage reads differs (results keys only: a tuning key such
as `curate.workers` changes no output). So no stage runs twice for the same thing, and each
variant's training data differs from the full recipe's only where its keys say.
"""

import copy

from shoplora.config.schema import load_schema, node_at, results_only, schema_errors

SECTIONS = ("curate", "train_pt", "train_sft")
MODEL_PREFIX = "ablation-"


def _merged(section, overlay):
    out = copy.deepcopy(section)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def variant_sections(config, name):
    """{section: the variant's whole section} for curate, train_pt and train_sft."""
    overlay = config["ablations"][name]
    return {s: _merged(config[s], overlay.get(s, {})) for s in SECTIONS}


def model_name(name):
    """The variant's model in predictions/ and scores/ (beside `base` and `finetuned`)."""
    return MODEL_PREFIX + name


def owns_curated(config, name):
    """Whether the variant curates its own SFT tasks (else it reads the full recipe's)."""
    own = variant_sections(config, name)["curate"]
    return results_only(own, "curate") != results_only(config["curate"], "curate")


def uses_pt(config, name):
    """Whether the variant's SFT starts from the (shared) post-pretraining adapter."""
    return variant_sections(config, name)["train_pt"]["enabled"]


def ablation_problems(config, schema=None):
    """Each variant's merged sections checked against the schema, and variants that change nothing.

    `config` has its defaults applied already. Messages name `ablations.<variant>.<section>`.
    """
    schema = schema or load_schema()
    problems = []
    for name in config["ablations"]:
        sections = variant_sections(config, name)
        own = []
        for section, merged in sections.items():
            node = node_at(schema, section)
            for problem in schema_errors(merged, {"$defs": schema.get("$defs", {}), **node}):
                problem = problem.replace("config key (top level)", "config key ", 1)
                own.append(
                    problem.replace("config key ", f"config key ablations.{name}.{section}.", 1).replace(".:", ":")
                )
        problems += own
        changed = [s for s in SECTIONS if results_only(sections[s], s) != results_only(config[s], s)]
        if not changed and not own:
            problems.append(
                f"config key ablations.{name}: changes no key that decides a result, so it would "
                "train the full recipe again"
            )
    return problems
