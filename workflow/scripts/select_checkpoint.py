import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_json  # noqa: E402
from shoplora.checkpoints import select  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
choice = select(Path(snakemake.input.state).parent / "run")
print(json.dumps(choice["chosen"]), file=sys.stderr)
write_json(snakemake.output.choice, choice)
