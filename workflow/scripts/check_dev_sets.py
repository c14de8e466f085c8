import sys

from shoplora.curation.overlap import find_overlaps
from shoplora.io.atomic import write_json
from shoplora.io.smk import send_stderr_to_log
from shoplora.tasks.records import load_tasks

send_stderr_to_log(snakemake)
dev = [t for name, path in snakemake.params.dev_sets.items() for t in load_tasks(path, f"dev:{name}")]
evals = [t for name, path in snakemake.params.eval_sets.items() for t in load_tasks(path, f"eval:{name}")]
overlaps = find_overlaps(dev, evals, snakemake.config["curate"])
for hit in overlaps:
    print(f"dev row {hit['dev_id']} overlaps eval row {hit['eval_id']}: {hit['reason']}", file=sys.stderr)
if overlaps:
    raise SystemExit(
        f"select_checkpoint.dev_sets overlap the eval sets in {len(overlaps)} of {len(dev)} rows "
        f"(first: dev {overlaps[0]['dev_id']} ~ eval {overlaps[0]['eval_id']}, {overlaps[0]['reason']}); "
        "a checkpoint chosen on them would be chosen on test data. Remove those rows from the dev sets."
    )
write_json(snakemake.output.check, {"dev_rows": len(dev), "eval_rows": len(evals), "overlaps": 0})
