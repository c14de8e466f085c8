import json
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from shoplora.io.atomic import atomic_dir
from shoplora.io.smk import send_stderr_to_log
from shoplora.release.dataset_card import render_dataset_card
from shoplora.release.model_card import default_name, render_model_card
from shoplora.release.publish import ADAPTER, DATASETS, MODEL, add_folder, link_or_copy, push, upload_plan
from shoplora.training.run import ADAPTER_FILES

log = send_stderr_to_log(snakemake)
inp, cfg = snakemake.input, snakemake.params.release
upload_plan(snakemake.output.folder, cfg)  # a push without a repository stops before any copy


def read_json(path):
    return json.loads(Path(path).read_text())


base = read_json(Path(inp.base) / "shoplora_model.json")
chosen = read_json(inp.choice)["chosen"]
name = cfg["name"] or default_name(base)
facts = {
    "name": name,
    "base": base,
    "chosen": chosen,
    "summary": read_json(inp.summary),
    "curation": read_json(inp.curation),
    "sft": yaml.safe_load(Path(inp.sft_config).read_text()),
    "pt": yaml.safe_load(Path(inp.pt_config).read_text()) if "pt_config" in inp.keys() else None,  # noqa: SIM118 - `in` on a Namedlist looks at values
    "datasets": [cfg["dataset_repo"]] if cfg["dataset_repo"] else [],
    "license": cfg["license"],
}
splits = {"sft": {"train": inp.sft_train, "validation": inp.sft_val}}
if facts["pt"]:
    splits["pt"] = {"train": inp.pt_train, "validation": inp.pt_val}
with atomic_dir(snakemake.output.folder) as tmp:
    add_folder(inp.model, tmp / MODEL)
    (tmp / MODEL / "README.md").write_text(render_model_card({**facts, "kind": "merged model"}))
    for file in ADAPTER_FILES:
        link_or_copy(Path(chosen["checkpoint"]) / file, tmp / ADAPTER / file)
    (tmp / ADAPTER / "README.md").write_text(render_model_card({**facts, "kind": "LoRA adapter"}))
    card_splits = {}
    for config, parts in splits.items():
        for split, path in parts.items():
            relative = f"{config}/{split}.parquet"
            link_or_copy(Path(path), tmp / DATASETS / relative)
            card_splits.setdefault(config, {})[split] = (relative, pq.read_metadata(path).num_rows)
    dataset_facts = {
        "name": f"{name} data",
        "splits": card_splits,
        "curation": facts["curation"],
        "sources": snakemake.params.sources,
        "providers": snakemake.params.providers,
        "license": cfg["license"],
    }
    (tmp / DATASETS / "README.md").write_text(render_dataset_card(dataset_facts))
print(f"release: {snakemake.output.folder} ({MODEL}/, {ADAPTER}/, {DATASETS}/)", file=log, flush=True)
if cfg["push"]:
    push(upload_plan(snakemake.output.folder, cfg), cfg["private"], log)
