import json
import sys
from pathlib import Path

from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log
from shoplora.training.checkpoints import select

send_stderr_to_log(snakemake)
choice = select(Path(snakemake.input.state).parent / "run")
print(json.dumps(choice["chosen"]), file=sys.stderr)
write_json(snakemake.output.choice, choice)
