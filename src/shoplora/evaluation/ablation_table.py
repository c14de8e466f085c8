"""ablation_table: each ablation variant against the full recipe, per task type and overall.

A variant's difference to the full recipe gets the same paired bootstrap as base vs
fine-tuned (table.py), run with the full recipe in the place of the base model: the
interval says whether removing the variant's stage costs (or gains) more than noise.
"""

import json

import pandas as pd

from shoplora.config.ablations import model_name
from shoplora.evaluation.table import summary_table

COLUMNS = [
    "variant",
    "changes",
    "level",
    "task_type",
    "n",
    "base",
    "full",
    "variant_score",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "significant",
    "variant_parse_failure_rate",
]


def _relabelled(scores, labels):
    """Evaluate outputs of the models in `labels`, with model renamed to labels[model]."""
    return [{**s, "model": labels[s["model"]]} for s in scores if s["model"] in labels]


def ablation_table(scores, ablations, resamples=10_000, seed=0, confidence=0.95):
    """`scores`: evaluate outputs of base, finetuned and every variant's model;
    `ablations`: the config's {variant: changed keys}. One row per variant and task type, and
    one per variant overall (the kit's macro-average over task names)."""
    # Only the base scores are read from this table: no bootstrap for it.
    main = summary_table(_relabelled(scores, {"base": "base", "finetuned": "finetuned"}), 0)
    # Per task type and overall: an official eval set's track rows are left to the metrics table.
    summary_levels = ("task_type", "overall")
    base = {(r.level, r.task_type): r.base for r in main.itertuples() if r.level in summary_levels}
    rows = []
    for variant, changes in ablations.items():
        versus = _relabelled(scores, {"finetuned": "base", model_name(variant): "finetuned"})
        table = summary_table(versus, resamples, seed, confidence)
        for r in table[table["level"].isin(summary_levels)].itertuples():
            rows.append(
                {
                    "variant": variant,
                    "changes": json.dumps(changes, sort_keys=True),
                    "level": r.level,
                    "task_type": r.task_type,
                    "n": r.n,
                    "base": base[(r.level, r.task_type)],
                    "full": r.base,
                    "variant_score": r.finetuned,
                    "delta": r.delta,
                    "delta_ci_low": r.delta_ci_low,
                    "delta_ci_high": r.delta_ci_high,
                    "significant": r.significant,
                    "variant_parse_failure_rate": r.finetuned_parse_failure_rate,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(v):
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def to_markdown(frame, confidence=0.95):
    lines = [
        "Each variant is the full recipe with the keys in `changes` changed. `delta`: the variant's score "
        f"minus the full recipe's, with its {confidence:.0%} paired-bootstrap interval; `*`: the interval "
        "excludes 0. A negative delta says that what the variant removes earns its cost.",
        "",
        "| variant | changes | task_type | n | base | full recipe | variant | delta | delta CI | sig |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in frame.itertuples():
        span = "" if pd.isna(r.delta_ci_low) else f"[{r.delta_ci_low:.3f}, {r.delta_ci_high:.3f}]"
        task = f"**{r.task_type}**" if r.level == "overall" else r.task_type
        cells = [r.variant, f"`{r.changes}`", task, r.n, r.base, r.full, r.variant_score, r.delta, span]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | {'*' if r.significant is True else ''} |")
    return "\n".join(lines) + "\n"
