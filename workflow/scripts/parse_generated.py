import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))
from shoplora.atomic import write_jsonl  # noqa: E402
from shoplora.gen_parse import parse_responses  # noqa: E402
from shoplora.llm_client import read_cache  # noqa: E402
from shoplora.smk import send_stderr_to_log  # noqa: E402

send_stderr_to_log(snakemake)
tasks, failures = parse_responses(read_cache(snakemake.input.raw), snakemake.wildcards.provider)
print(f"{len(tasks)} tasks parsed, {len(failures)} failures", file=sys.stderr)
write_jsonl(snakemake.output.tasks, tasks)
write_jsonl(snakemake.output.failures, failures)
