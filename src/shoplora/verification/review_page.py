"""The review page of the Snakemake report: what the reviewed sample measured, then the sample
itself, one task per row, readable without a spreadsheet."""

import html

SHOWN = ("task_type", "prompt", "answer", "agreement", "verifier_answers", "judge_score", "judge_reason", "gate",
         "gate_reasons", "decision", "human_verdict")  # fmt: skip


def _cell(value):
    text = html.escape(str(value if value is not None else ""))
    return f"<td>{text.replace(chr(10), '<br>')}</td>"


def _share(entry):
    if entry["bad_share_kept"] is None:
        return "–"
    low, high = entry["bad_share_kept_wilson95"]
    return f"{entry['bad_share_kept']:.2f} [{low:.2f}, {high:.2f}] of {entry['reviewed_kept']}"


def _figure(value):
    return "–" if value is None else f"{value:.2f}"


def render(rows, stats, verdicts_file):
    """The page's HTML. stats: review.review_stats, or None when no verdict file is set."""
    parts = ["<html><head><meta charset='utf-8'><title>Quality gate: reviewed sample</title>",
             "<style>td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}"
             "table{border-collapse:collapse}</style></head><body>",
             "<h2>Quality gate: reviewed sample</h2>"]  # fmt: skip
    if stats is None:
        parts.append(
            "<p>No verdicts yet. Copy <code>results/review/sheet.csv</code> out of <code>results/</code>, "
            "fill <code>human_verdict</code> with <code>ok</code> or <code>bad</code>, and set "
            "<code>review.verdicts</code> to the copy (docs/curation.md).</p>"
        )
    else:
        parts.append(f"<p>{stats['reviewed']} reviewed tasks from <code>{html.escape(str(verdicts_file))}</code>; ")
        parts.append(f"gate precision {_figure(stats['precision'])}, recall {_figure(stats['recall'])}.</p>")
        parts.append("<table><tr><th>task type</th><th>reviewed</th><th>bad among kept [95% Wilson]</th>"
                     "<th>precision</th><th>recall</th></tr>")  # fmt: skip
        for task_type, entry in stats["per_task_type"].items():
            parts.append(
                f"<tr><td>{html.escape(task_type)}</td><td>{entry['reviewed']}</td><td>{_share(entry)}</td>"
                f"<td>{_figure(entry['precision'])}</td><td>{_figure(entry['recall'])}</td></tr>"
            )
        parts.append("</table>")
        if stats["unmatched_verdicts"]:
            ids = ", ".join(map(html.escape, stats["unmatched_verdicts"]))
            parts.append(f"<p><b>Verdicts for tasks that no longer exist:</b> {ids}</p>")
    parts.append("<h3>The sample</h3><table><tr>" + "".join(f"<th>{c}</th>" for c in SHOWN) + "</tr>")
    for row in rows:
        parts.append("<tr>" + "".join(_cell(row[c]) for c in SHOWN) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"
