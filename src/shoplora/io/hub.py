"""The commit a Hugging Face Hub revision (a branch, tag or commit) stands for, so a run records
what it downloaded and can be repeated with `revision: <commit>`."""

import os
import re
from pathlib import Path

COMMIT = re.compile(r"[0-9a-f]{40}")


def cache_folder(repo_id, repo_type):
    """The repository's folder in the Hub cache, as huggingface_hub names it."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type=repo_type)


def resolve_commit(repo_id, revision=None, repo_type="model"):
    """(commit, where it was learnt): asked of the Hub, or read from the cache's refs when the Hub
    cannot be reached (HF_HUB_OFFLINE, no network); (None, why) when neither knows it."""
    revision = revision or "main"
    if COMMIT.fullmatch(revision):
        return revision, "pinned"
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        try:
            from huggingface_hub import HfApi

            return HfApi().repo_info(repo_id, revision=revision, repo_type=repo_type).sha, "hub"
        except Exception:  # noqa: BLE001 - unreachable, private or missing: try the cache
            pass
    ref = cache_folder(repo_id, repo_type) / "refs" / revision
    if ref.is_file() and COMMIT.fullmatch(ref.read_text().strip()):
        return ref.read_text().strip(), "cache"
    return None, f"'{revision}' of {repo_type} {repo_id} is in neither the Hub's answer nor the local cache"
