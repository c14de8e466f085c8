"""metrics_table: base vs fine-tuned per task type and per task name, and the overall score.

The overall row is the kit's score: the plain mean over task names. When the eval rows carry
a KDD Cup `track` (official files do), a row per track gives the mean over its task names,
as the leaderboard scored each track. Every row carries a
paired-bootstrap confidence interval of base, fine-tuned and their difference
(uncertainty.py) and marks a difference whose interval excludes 0.
"""

import math

import numpy as np
import pandas as pd

from shoplora.evaluation.uncertainty import interval, paired_bootstrap
from shoplora.tasks.types import spec, task_types

MODELS = ("base", "finetuned")
# The study's extra columns: every extra metric a task type's spec names (generation's).
EXTRAS = tuple(dict.fromkeys(extra for name in task_types() for extra in spec(name).study_extras))
COLUMNS = [
    "level",
    "task_type",
    "task_name",
    "track",
    "metric",
    "n",
    "base",
    "finetuned",
    "delta",
    "base_parse_failure_rate",
    "finetuned_parse_failure_rate",
    "base_ci_low",
    "base_ci_high",
    "finetuned_ci_low",
    "finetuned_ci_high",
    "delta_ci_low",
    "delta_ci_high",
    "significant",
] + [f"{m}_{e}" for e in EXTRAS for m in MODELS]
INTERVAL_COLUMNS = [c for c in COLUMNS if "_ci_" in c]


def _pair_by_task(scores):
    """{(task_type, task_name, metric): {model: per-task entry}} from evaluate outputs."""
    tasks = {}
    for s in scores:
        for t in s["per_task"]:
            key = (t["task_type"], t["task_name"], t["metric"])
            if s["model"] in tasks.setdefault(key, {}):
                raise ValueError(f"task {t['task_name']!r} is scored twice for {s['model']}")
            tasks[key][s["model"]] = t
    for (task_type, task_name, _), pair in tasks.items():
        if set(pair) != set(MODELS):
            raise ValueError(
                f"task {task_name!r} ({task_type}): scores for {sorted(pair)} only; need base and finetuned"
            )
    return tasks


def _row(level, task_type, task_name, metric, entries, track=""):
    """One table row from the per-task entries it covers: task scores averaged, counts pooled."""
    row = {
        "level": level,
        "task_type": task_type,
        "task_name": task_name,
        "track": track,
        "metric": metric,
        "n": sum(e["base"]["n"] for e in entries),
    }
    for m in MODELS:
        row[m] = sum(e[m]["score"] for e in entries) / len(entries)
        row[f"{m}_parse_failure_rate"] = sum(e[m]["parse_failures"] for e in entries) / row["n"]
        for extra in EXTRAS:
            vals = [e[m][extra] for e in entries if extra in e[m]]
            row[f"{m}_{extra}"] = sum(vals) / len(vals) if vals else math.nan
    row["delta"] = row["finetuned"] - row["base"]
    return row


def _track(pair):
    return pair["base"].get("track") or ""


def _task_rows(scores):
    """{task_name: (metric, base rows, fine-tuned rows)} from evaluate outputs with per-row records."""
    rows = {m: {} for m in MODELS}
    for s in scores:
        for r in s.get("rows", []):
            rows[s["model"]].setdefault(r["task_name"], []).append(r)
    tasks = {}
    for name, base in rows["base"].items():
        ft = rows["finetuned"].get(name, [])
        if [r["id"] for r in base] != [r["id"] for r in ft]:
            raise ValueError(f"task {name!r}: base and fine-tuned predictions are not for the same examples")
        tasks[name] = (base[0]["metric"], base, ft)
    return tasks


def _with_interval(row, samples, confidence):
    base, ft = samples
    for name, values in (("base", base), ("finetuned", ft), ("delta", ft - base)):
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = interval(values, confidence)
    row["significant"] = bool(row["delta_ci_low"] > 0 or row["delta_ci_high"] < 0)
    return row


def _mean_samples(samples):
    return tuple(np.mean([s[k] for s in samples], axis=0) for k in (0, 1))


def summary_table(scores, resamples=10_000, seed=0, confidence=0.95):
    """`scores`: evaluate outputs ({model, parse_mode, per_task: [...], rows: [...]}) of both models."""
    tasks = _pair_by_task(scores)
    samples = paired_bootstrap(_task_rows(scores), resamples, seed) if resamples else {}

    def add(row, names):
        if samples and all(n in samples for n in names):
            _with_interval(row, _mean_samples([samples[n] for n in names]), confidence)
        return row

    rows = []
    for task_type in sorted({k[0] for k in tasks}):
        keys = sorted(k for k in tasks if k[0] == task_type)
        entries = [tasks[k] for k in keys]
        metrics = "/".join(sorted({k[2] for k in keys}))
        rows.append(add(_row("task_type", task_type, "", metrics, entries), [k[1] for k in keys]))
        rows += [add(_row("task_name", task_type, k[1], k[2], [tasks[k]], _track(tasks[k])), [k[1]]) for k in keys]
    by_track = {}
    for key in tasks:
        if _track(tasks[key]):
            by_track.setdefault(_track(tasks[key]), []).append(key)
    for track, keys in sorted(by_track.items()):
        metrics = "/".join(sorted({k[2] for k in keys}))
        rows.append(add(_row("track", "", "", metrics, [tasks[k] for k in keys], track), [k[1] for k in keys]))
    if tasks:
        # The kit's overall score: each task's score, then the plain mean over task names.
        rows.append(add(_row("overall", "macro-average", "", "", list(tasks.values())), [k[1] for k in tasks]))
    return pd.DataFrame(rows, columns=COLUMNS)


def to_records(frame):
    """Rows for JSON: empty cells (e.g. the generation-only columns elsewhere) become null."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _cell(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}"
    # A task name from an eval file may hold a `|` or a line break: either would break the row.
    return " ".join(str(v).split()).replace("|", "\\|")


def _markdown_rows(frame, columns):
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    for row in frame[columns].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return lines


def _span(low, high):
    return "" if low is None or (isinstance(low, float) and math.isnan(low)) else f"[{low:.3f}, {high:.3f}]"


def to_markdown(frame, parse_mode, confidence=0.95):
    shown = frame.assign(
        task_name=[
            f"**{t}**" if lvl != "task_name" else n
            for lvl, t, n in zip(frame["level"], frame["task_type"], frame["task_name"])
        ],
        **{
            f"{m} CI": [_span(lo, hi) for lo, hi in zip(frame[f"{m}_ci_low"], frame[f"{m}_ci_high"])]
            for m in (*MODELS, "delta")
        },
        sig=["*" if s is True else "" for s in frame["significant"]],
    )
    main = [
        "task_type", "task_name", "metric", "n", "base", "base CI", "finetuned", "finetuned CI", "delta",
        "delta CI", "sig", "base_parse_failure_rate", "finetuned_parse_failure_rate",
    ]  # fmt: skip
    lines = [
        f"Answers parsed in **{parse_mode}** mode. Bold rows: per task type (mean over its tasks) and the "
        "overall score as the KDD Cup 2024 kit computes it (macro-average over task names). "
        f"CI: {confidence:.0%} paired-bootstrap interval; `*`: the interval of the delta excludes 0, "
        "so the difference is unlikely to be noise.",
        "",
    ] + _markdown_rows(shown[shown["level"] != "track"], main)
    tracks = shown[shown["level"] == "track"]
    if len(tracks):
        columns = ["track", "metric", "n", "base", "base CI", "finetuned", "finetuned CI", "delta", "delta CI", "sig"]
        lines += ["", "Per KDD Cup 2024 track (mean over the track's task names, as the leaderboard scored it):", ""]
        lines += _markdown_rows(tracks, columns)
    has_extras = frame[[f"{m}_{e}" for e in EXTRAS for m in MODELS]].notna().any(axis=1)
    generation = frame[has_extras & frame["level"].isin(("task_type", "task_name"))]
    if len(generation):
        extra = ["task_type", "task_name"] + [f"{m}_{e}" for e in EXTRAS for m in MODELS]
        lines += ["", "Generation tasks, the study's extra columns (BLEU-4, ROUGE-L):", ""]
        lines += _markdown_rows(generation, extra)
    return "\n".join(lines) + "\n"
