"""The commit a Hub revision stands for: pinned as given, asked of the Hub, or read from the cache."""

import pytest

from shoplora.data.sources import hub_pin
from shoplora.io.hub import resolve_commit

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An offline Hub cache in which the dataset shop/tasks has main at COMMIT (the cache's own layout)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    refs = tmp_path / "datasets--shop--tasks" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(COMMIT)
    return tmp_path


def test_a_commit_is_its_own_answer():
    assert resolve_commit("01-ai/Yi-9B", COMMIT) == (COMMIT, "pinned")


def test_offline_the_cache_says_which_commit_a_branch_is(offline_cache):
    assert resolve_commit("shop/tasks", "main", "dataset") == (COMMIT, "cache")
    assert resolve_commit("shop/tasks", None, "dataset") == (COMMIT, "cache")  # null means main
    commit, why = resolve_commit("shop/tasks", "v2", "dataset")
    assert commit is None and "'v2' of dataset shop/tasks" in why
    assert resolve_commit("shop/tasks", "main", "model")[0] is None  # a model of that name is not cached


def test_a_hub_source_is_fetched_at_its_commit_and_the_pin_recorded(offline_cache):
    spec = {"kind": "hf", "dataset": "shop/tasks", "revision": None, "split": "train"}
    fetched, record = hub_pin(spec)
    assert fetched == {**spec, "revision": COMMIT}
    assert record == {"dataset": "shop/tasks", "revision": None, "commit": COMMIT}
    file_spec = {"kind": "file", "path": "x.jsonl"}
    assert hub_pin(file_spec) == (file_spec, None)
