"""The release folder of a finished small run: cards the Hub's own parsers read, holding the run's
scores and data; and what `release.push` would upload (the upload itself needs the network)."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from shoplora.config.schema import section_defaults
from shoplora.release.publish import ReleaseError, upload_plan

from conftest import run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(finished_run):
    run_snakemake(finished_run, "release", "--cores", "2")
    return finished_run / "results/release"


def test_the_model_card_renders_the_runs_scores_in_model_index(finished_run, release):
    from huggingface_hub import ModelCard

    summary = json.loads((finished_run / "results/metrics/summary.json").read_text())
    for folder in ("model", "adapter"):
        card = ModelCard.load(release / folder / "README.md")  # the Hub's parser
        results = {r.task_name: r.metric_value for r in card.data.eval_results}
        rows = [r for r in summary["rows"] if r["level"] in ("task_type", "overall")]
        assert len(results) == len(rows)
        for row in rows:
            label = row["task_type"] if row["level"] == "task_type" else "overall (macro-average over task names)"
            assert results[f"ShopBench {label}"] == pytest.approx(row["finetuned"], abs=5e-5)
            # The body's table carries the delta with its paired-bootstrap interval.
            assert f"[{row['delta_ci_low']:.3f}, {row['delta_ci_high']:.3f}]" in card.text
        assert "lora_rank" in card.text and "## Limits" in card.text and "rows in" in card.text
    assert (release / "model/model.safetensors").stat().st_size > 0
    assert (release / "model/shoplora_model.json").exists()
    chosen = json.loads((finished_run / "results/train/sft/selected_checkpoint.json").read_text())["chosen"]
    adapter = release / "adapter/adapter_model.safetensors"
    assert adapter.read_bytes() == (finished_run / chosen["checkpoint"] / "adapter_model.safetensors").read_bytes()


def test_the_dataset_card_lists_the_curated_splits_with_their_rows(finished_run, release):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(release / "datasets/README.md")
    configs = {c["config_name"]: {f["split"]: f["path"] for f in c["data_files"]} for c in card.data.configs}
    assert configs["sft"] == {"train": "sft/train.parquet", "validation": "sft/validation.parquet"}
    assert set(configs) == {"sft", "pt"}
    for config, splits in configs.items():
        for split, path in splits.items():
            source = finished_run / f"results/datasets/{config}_{'train' if split == 'train' else 'val'}.parquet"
            assert pd.read_parquet(release / "datasets" / path).equals(pd.read_parquet(source))
            assert f"| {config} | {split} | {pq.read_metadata(source).num_rows} |" in card.text
    curation = json.loads((finished_run / "results/curated/curation_report.json").read_text())
    assert f"{curation['total']['rows_in']} task rows in, {curation['total']['kept']} kept" in card.text


def test_a_push_names_its_repositories_and_needs_a_model_repo(tmp_path):
    cfg = section_defaults("release", push=True, model_repo="team/m", dataset_repo="team/d")
    assert upload_plan(tmp_path, cfg) == [
        (tmp_path / "model", "team/m", "model"),
        (tmp_path / "datasets", "team/d", "dataset"),
    ]
    with pytest.raises(ReleaseError, match="release.push: true needs release.model_repo"):
        upload_plan(tmp_path, section_defaults("release", push=True))
    assert upload_plan(tmp_path, section_defaults("release")) == []  # nothing named, nothing pushed
