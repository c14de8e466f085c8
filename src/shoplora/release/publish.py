"""The release folder (model, adapter, datasets, each with its card) and its upload to the Hub."""

import os
import shutil
from pathlib import Path

MODEL, ADAPTER, DATASETS = "model", "adapter", "datasets"


class ReleaseError(ValueError):
    pass


def link_or_copy(src, dest):
    """A hard link where the file system allows one (a 9B model is not copied twice), else a copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def add_folder(src, dest):
    for path in sorted(Path(src).rglob("*")):
        if path.is_file():
            link_or_copy(path, Path(dest) / path.relative_to(src))


def upload_plan(release_dir, cfg):
    """[(folder, repo id, repo type)] that `release.push` uploads; the repos it names."""
    release_dir = Path(release_dir)
    plan = []
    for folder, key, repo_type in ((MODEL, "model_repo", "model"), (ADAPTER, "adapter_repo", "model"),
                                   (DATASETS, "dataset_repo", "dataset")):  # fmt: skip
        if cfg[key]:
            plan.append((release_dir / folder, cfg[key], repo_type))
    if cfg["push"] and not cfg["model_repo"]:
        raise ReleaseError("release.push: true needs release.model_repo (e.g. my-team/yi-9b-shoplora)")
    return plan


def push(plan, private, log):
    """Create each repository (private unless told) and upload its folder. The token comes from
    HF_TOKEN or the Hub login, never from the config."""
    from huggingface_hub import HfApi

    api = HfApi()
    for folder, repo_id, repo_type in plan:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=repo_type,
                                   commit_message="shoplora release")  # fmt: skip
        print(f"release: {folder} -> {repo_type} {repo_id} ({commit.oid if hasattr(commit, 'oid') else commit})",
              file=log, flush=True)  # fmt: skip
