"""The reviewed sample (the study's manual check, made measurable): a stratified random sample of
the gate's kept and rejected tasks as a sheet, a reviewer's verdicts read back, and what they
measure: the share of bad tasks the gate let through (95% Wilson interval) and the gate's
precision and recall against the reviewer."""

import csv
import io
import json
import math
import random
from collections import Counter
from pathlib import Path

SHEET_COLUMNS = (
    "id", "task_type", "source", "prompt", "answer", "agreement", "verifier_answers", "judge_reasonable",
    "judge_answer_correct", "judge_score", "judge_reason", "gate", "gate_reasons", "decision", "human_verdict",
)  # fmt: skip
VERDICTS = ("ok", "bad")
Z_95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval


class VerdictFileError(ValueError):
    """A verdict file that cannot be read; the message names file, line and field."""


def stratum(record):
    """The sampling stratum of a verdict record: what the gate did, whatever the mode did."""
    return "rejected" if record["gate"] == "fail" else "kept"


def sample(verdicts, per_type, seed):
    """The ids to review: per task type `per_type` tasks, half from the tasks the gate rejects
    (all of them when fewer) and the rest from the ones it keeps, drawn with a seeded RNG over
    ids in sorted order, so the same verdicts give the same sample on every run."""
    groups = {}
    for record in verdicts:
        groups.setdefault(record["task_type"], {"kept": [], "rejected": []})[stratum(record)].append(record["id"])
    chosen = []
    for task_type in sorted(groups):
        kept, rejected = (sorted(set(groups[task_type][s])) for s in ("kept", "rejected"))
        n_rejected = min(len(rejected), max(math.ceil(per_type / 2), per_type - len(kept)))
        n_kept = min(len(kept), per_type - n_rejected)
        for name, ids, n in (("rejected", rejected, n_rejected), ("kept", kept, n_kept)):
            chosen += random.Random(f"{seed}:{task_type}:{name}").sample(ids, n)
    return chosen


def sheet_rows(ids, verdicts, tasks, human):
    """One row per sampled task (SHEET_COLUMNS); `human_verdict` filled from earlier verdicts."""
    by_id = {v["id"]: v for v in verdicts}
    rows = []
    for task_id in ids:
        record, task = by_id[task_id], tasks[task_id]
        judge = record["judge"] or {}
        rows.append(
            {
                "id": task_id,
                "task_type": record["task_type"],
                "source": record["source"],
                "prompt": task["input_field"],
                "answer": json.dumps(task["output_field"], ensure_ascii=False),
                "agreement": "" if record["agreement"] is None else record["agreement"],
                "verifier_answers": "" if record["answers"] is None else json.dumps(record["answers"]),
                "judge_reasonable": judge.get("reasonable", ""),
                "judge_answer_correct": judge.get("answer_correct", ""),
                "judge_score": judge.get("score", ""),
                "judge_reason": judge.get("reason", record["judge_error"] or ""),
                "gate": record["gate"],
                "gate_reasons": " ".join(record["gate_reasons"]),
                "decision": record["decision"] if not record["reason"] else f"{record['decision']}:{record['reason']}",
                "human_verdict": human.get(task_id, ""),
            }
        )
    return rows


def read_verdicts(path):
    """{task id: "ok" | "bad"} from a filled sheet (CSV with `id` and `human_verdict`; other
    columns are ignored, rows left empty are not reviewed). Raises VerdictFileError naming file,
    line and field for a missing column, an unknown verdict or one id given two verdicts."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet may write a BOM
    except OSError as err:
        raise VerdictFileError(f"{path}: cannot read the verdict file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise VerdictFileError(f"{path}: not UTF-8 text (byte {err.start}); save the sheet as CSV UTF-8") from None
    verdicts, where = {}, {}
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in ("id", "human_verdict") if c not in (reader.fieldnames or ())]
        if missing:
            raise VerdictFileError(f"{path}:1: field '{missing[0]}' is missing from the header")
        while True:
            line = reader.line_num + 1  # where the row starts: a quoted prompt may span lines
            row = next(reader, None)
            if row is None:
                break
            verdict = (row["human_verdict"] or "").strip().lower()
            task_id = (row["id"] or "").strip()
            if not verdict:
                continue
            if verdict not in VERDICTS:
                raise VerdictFileError(
                    f"{path}:{line}: field 'human_verdict' is {row['human_verdict']!r}; expected ok, bad or empty"
                )
            if not task_id:
                raise VerdictFileError(f"{path}:{line}: field 'id' is empty")
            if verdicts.get(task_id, verdict) != verdict:
                raise VerdictFileError(
                    f"{path}:{line}: field 'human_verdict': task {task_id} is also marked "
                    f"{verdicts[task_id]!r} on line {where[task_id]}"
                )
            verdicts[task_id], where[task_id] = verdict, line
    except csv.Error as err:
        raise VerdictFileError(f"{path}:{reader.line_num}: not a readable CSV file ({err})") from None
    return verdicts


def wilson(bad, n, z=Z_95):
    """The Wilson score interval of a proportion bad/n, or None when nothing was reviewed."""
    if n == 0:
        return None
    p = bad / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else None


def _precision_recall(pairs, sizes):
    """The gate's precision and recall for `bad`, each reviewed task standing for its stratum
    (weight: stratum size / tasks reviewed in it), so the sample's half-and-half split does not
    bias them. pairs: (record, human verdict)."""
    reviewed = Counter((r["task_type"], stratum(r)) for r, _ in pairs)
    tp = fp = fn = 0.0
    for record, verdict in pairs:
        key = (record["task_type"], stratum(record))
        weight = sizes[key] / reviewed[key]
        rejected, bad = stratum(record) == "rejected", verdict == "bad"
        tp += weight * (rejected and bad)
        fp += weight * (rejected and not bad)
        fn += weight * (not rejected and bad)
    return _ratio(tp, tp + fp), _ratio(tp, tp + fn)


def review_stats(verdicts, human):
    """What the reviewer's verdicts measure, per task type and over all: tasks reviewed, bad
    among those the gate keeps (share and 95% Wilson interval), the gate's precision and
    recall; and the verdicts whose task no longer exists (listed, never silently ignored)."""
    by_id = {v["id"]: v for v in verdicts}
    sizes = Counter((v["task_type"], stratum(v)) for v in verdicts)
    pairs = [(by_id[i], h) for i, h in human.items() if i in by_id]
    per_type = {}
    for task_type in sorted({r["task_type"] for r, _ in pairs}):
        own = [(r, h) for r, h in pairs if r["task_type"] == task_type]
        kept = [h for r, h in own if stratum(r) == "kept"]
        bad_kept = sum(h == "bad" for h in kept)
        precision, recall = _precision_recall(own, sizes)
        per_type[task_type] = {
            "reviewed": len(own),
            "reviewed_kept": len(kept),
            "bad_kept": bad_kept,
            "bad_share_kept": _ratio(bad_kept, len(kept)),
            "bad_share_kept_wilson95": wilson(bad_kept, len(kept)),
            "precision": precision,
            "recall": recall,
        }
    precision, recall = _precision_recall(pairs, sizes)
    return {
        "verdicts": len(human),
        "reviewed": len(pairs),
        "per_task_type": per_type,
        "precision": precision,
        "recall": recall,
        "unmatched_verdicts": sorted(i for i in human if i not in by_id),
    }
