import json
import sys
from pathlib import Path

from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log
from shoplora.scoring.kit import kit_overall
from shoplora.training.checkpoints import select

send_stderr_to_log(snakemake)
by = snakemake.params.by
dev_scores = None
if by == "dev_score":
    # The kit's overall score over every dev task, per checkpoint.
    per_step = {}
    for path in snakemake.input.dev_scores:
        result = json.loads(Path(path).read_text())
        per_step.setdefault(result["step"], {}).update({t["task_name"]: t for t in result["per_task"]})
    dev_scores = {step: kit_overall(tasks) for step, tasks in per_step.items()}
choice = select(Path(snakemake.input.state).parent / "run", by=by, dev_scores=dev_scores)
print(json.dumps(choice["chosen"]), file=sys.stderr)
write_json(snakemake.output.choice, choice)
