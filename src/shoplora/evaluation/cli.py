"""`shoplora score FILE...`: score prediction files outside Snakemake, as the evaluate rule does.

A prediction file is JSON Lines in the form `infer` writes: the eval row's fields
(`task_type`, `task_name`, `metric`, `output_field`, optionally `id`) plus `response`. All
files are scored together as one model's answers, with the KDD Cup 2024 kit's rules.
"""

import argparse
import json
import sys
from pathlib import Path

from shoplora.config.schema import section_defaults
from shoplora.io.atomic import write_json, write_jsonl
from shoplora.scoring.kit import score_predictions
from shoplora.tasks.records import PREDICTION_FIELDS, TaskFormatError, read_utf8
from shoplora.tasks.types import is_task_type, unknown_type_problem
from shoplora.tasks.validity import eval_row_problem

REQUIRED = tuple(field for field in PREDICTION_FIELDS if field != "id")


class PredictionFileError(ValueError):
    pass


def _text(path):
    path = Path(path)
    if path.is_dir():
        raise PredictionFileError(f"{path}: is a folder; give the prediction files in it")
    try:
        return read_utf8(path)
    except TaskFormatError as err:
        raise PredictionFileError(f"{err}; is it a prediction file?") from None


def read_predictions(path):
    """The rows of one prediction file; PredictionFileError naming file, line and field for a
    row that cannot be scored (a missing field, an unknown type or metric, a truth of the wrong
    form such as NaN), so that no such row scores a silent 0."""
    rows = []
    for lineno, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise PredictionFileError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
        missing = [f for f in REQUIRED if f not in row] if isinstance(row, dict) else ["(a JSON object)"]
        if missing:
            raise PredictionFileError(f"{path}:{lineno}: field '{missing[0]}' is missing")
        if not is_task_type(row["task_type"]):
            raise PredictionFileError(f"{path}:{lineno}: field 'task_type' {unknown_type_problem(row['task_type'])}")
        problem = eval_row_problem(row)
        if problem:
            raise PredictionFileError(f"{path}:{lineno}: {problem}")
        rows.append(row)
    if not rows:
        raise PredictionFileError(f"{path}: no predictions (the file is empty)")
    return rows


def table_text(result):
    lines = [f"{'task_name':<40} {'task_type':<26} {'metric':<16} {'n':>6} {'score':>8} {'failed':>7}"]
    for t in result["per_task"]:
        lines.append(
            f"{t['task_name'][:40]:<40} {t['task_type']:<26} {t['metric']:<16} {t['n']:>6} "
            f"{t['score']:>8.4f} {t['parse_failures']:>7}"
        )
    lines.append(f"{'overall (mean over task names)':<90} {result['overall']:>8.4f}")
    return "\n".join(lines)


def score_command(args):
    predictions = [row for path in args.files for row in read_predictions(path)]
    result = score_predictions(predictions, args.mode, {"multilingual-sent-transformer": args.multilingual_model_path})
    rows = result.pop("rows")
    print(table_text(result))
    if args.out:
        write_json(args.out, result)
    if args.rows:
        write_jsonl(
            args.rows,
            [{"file_row": i, "task_type": p["task_type"], **r} for i, (p, r) in enumerate(zip(predictions, rows))],
        )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="shoplora", description="shoplora's command-line tools")
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score prediction files (JSON Lines, as infer writes them)")
    score.add_argument("files", nargs="+", help="prediction files")
    # The rule's default, from the schema: the command and the table score alike.
    default_mode = section_defaults("evaluate")["parse_mode"]
    score.add_argument(
        "--mode",
        choices=("strict", "lenient"),
        default=default_mode,
        help=f"answer parsing (default {default_mode}, as evaluate.parse_mode; strict is the KDD Cup kit's)",
    )
    score.add_argument("--out", help="write the per-task table and the overall score as JSON")
    score.add_argument("--rows", help="write one JSON line per input row: parsed answer, score, failure reason")
    score.add_argument("--multilingual-model-path", help="local paraphrase-multilingual-MiniLM-L12-v2")
    args = parser.parse_args(argv)
    try:
        score_command(args)
    except PredictionFileError as err:
        sys.exit(f"shoplora score: {err}")
    except OSError as err:  # a missing file, or --out on a full disk
        sys.exit(f"shoplora score: {err.filename or ''}: {err.strerror or err}")


if __name__ == "__main__":
    main()
