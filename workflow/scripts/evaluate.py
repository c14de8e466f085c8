import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_json  # noqa: E402
from shoplora.scoring import score_predictions  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
cfg = snakemake.params.evaluate
predictions = [json.loads(line) for line in Path(snakemake.input.predictions).read_text().splitlines() if line.strip()]
result = score_predictions(predictions, cfg["parse_mode"],
                           {"multilingual-sent-transformer": cfg.get("multilingual_model_path")})
result.update(model=snakemake.wildcards.model, eval_set=snakemake.wildcards.task)
for task in result["per_task"]:
    print(json.dumps(task), file=sys.stderr)
write_json(snakemake.output.scores, result)
