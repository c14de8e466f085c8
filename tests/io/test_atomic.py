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
