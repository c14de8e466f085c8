from pathlib import Path

from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log
from shoplora.training.checkpoints import complete_checkpoints

send_stderr_to_log(snakemake)
steps = list(complete_checkpoints(Path(snakemake.input.state).parent / "run"))
write_json(snakemake.output.steps, {"steps": steps})
