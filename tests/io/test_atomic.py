import json

import pytest

from shoplora.io.atomic import atomic_dir, atomic_path, write_json


def test_atomic_writes_leave_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1} and len(list(tmp_path.iterdir())) == 1
    folder = tmp_path / "model"
    with pytest.raises(RuntimeError), atomic_dir(folder) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("killed")
    assert not folder.exists() and len(list(tmp_path.iterdir())) == 1


def test_outputs_get_the_mode_of_a_plain_open_and_leftovers_are_removed(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        (tmp_path / "plain").write_text("x")
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777 == 0o640
        with atomic_dir(tmp_path / "model") as tmp:
            (tmp / "w").write_text("x")
        assert (tmp_path / "model").stat().st_mode & 0o777 == 0o750
    finally:
        os.umask(old)
    # A job killed mid-write leaves its temporary file; the next write of that output removes it.
    (tmp_path / ".a.json.abc123.tmp").write_text("half")
    (tmp_path / ".other.json.abc123.tmp").write_text("someone else's")
    write_json(tmp_path / "a.json", {"a": 2})
    assert not (tmp_path / ".a.json.abc123.tmp").exists() and (tmp_path / ".other.json.abc123.tmp").exists()


def test_weights_written_0600_get_the_mode_of_a_plain_open(tmp_path):
    """safetensors writes 0600 whatever the umask: a team sharing results/ could not read the
    models (results/model/*/model.safetensors, every adapter)."""
    import os

    import torch
    from safetensors.torch import save_file

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "model") as tmp:
            save_file({"w": torch.zeros(2)}, tmp / "model.safetensors")
            (tmp / "sub").mkdir()
            save_file({"w": torch.zeros(2)}, tmp / "sub/adapter_model.safetensors")
        # The same library call outside shoplora's folders, for contrast (the test can fail).
        save_file({"w": torch.zeros(2)}, tmp_path / "bare.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "model/model.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model/sub/adapter_model.safetensors").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "bare.safetensors").stat().st_mode & 0o777 == 0o600
