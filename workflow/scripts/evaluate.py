import json
import sys
from pathlib import Path

from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log
from shoplora.scoring.kit import score_predictions

send_stderr_to_log(snakemake)
cfg = snakemake.params.evaluate
path = Path(snakemake.input.predictions)
if "file" in snakemake.params.keys():  # noqa: SIM118 - the sweep's predictions folder holds every step's files
    path = path / snakemake.params.file
predictions = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
result = score_predictions(
    predictions, cfg["parse_mode"], {"multilingual-sent-transformer": cfg["multilingual_model_path"]}
)
result.update(model=snakemake.params.label, eval_set=snakemake.wildcards.task)
if "step" in snakemake.wildcards.keys():  # noqa: SIM118 - `in` on a Namedlist looks at values
    result["step"] = int(snakemake.wildcards.step)
for task in result["per_task"]:
    print(json.dumps(task), file=sys.stderr)
write_json(snakemake.output.scores, result)
