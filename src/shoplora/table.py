"""metrics_table: base vs fine-tuned scores per task type."""

import pandas as pd

COLUMNS = ["task_type", "metric", "n", "base", "finetuned", "delta", "base_parse_failure_rate",
           "finetuned_parse_failure_rate"]


def summary_table(scores):
    """`scores`: list of evaluate outputs ({model, task_type, metric, n, score, parse_failure_rate})."""
    rows = []
    by_task = {}
    for s in scores:
        by_task.setdefault(s["task_type"], {})[s["model"]] = s
    for task_type in sorted(by_task):
        pair = by_task[task_type]
        if set(pair) != {"base", "finetuned"}:
            raise ValueError(f"task {task_type}: scores for {sorted(pair)} only; need base and finetuned")
        base, tuned = pair["base"], pair["finetuned"]
        rows.append({"task_type": task_type, "metric": base["metric"], "n": base["n"],
                     "base": base["score"], "finetuned": tuned["score"],
                     "delta": tuned["score"] - base["score"],
                     "base_parse_failure_rate": base["parse_failure_rate"],
                     "finetuned_parse_failure_rate": tuned["parse_failure_rate"]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if len(frame):
        mean = {"task_type": "macro-average", "metric": "", "n": int(frame["n"].sum()),
                "base": frame["base"].mean(), "finetuned": frame["finetuned"].mean(),
                "delta": frame["delta"].mean(),
                "base_parse_failure_rate": frame["base_parse_failure_rate"].mean(),
                "finetuned_parse_failure_rate": frame["finetuned_parse_failure_rate"].mean()}
        frame = pd.concat([frame, pd.DataFrame([mean])], ignore_index=True)
    return frame


def to_markdown(frame, parse_mode):
    header = "| " + " | ".join(frame.columns) + " |"
    sep = "| " + " | ".join("---" for _ in frame.columns) + " |"
    lines = [f"Answers parsed in **{parse_mode}** mode.", "", header, sep]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
