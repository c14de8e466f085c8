"""Write outputs under a temporary name and rename, so a killed job leaves no half file."""

import glob
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask():
    current = os.umask(0)
    os.umask(current)
    return current


def _remove_leftovers(path):
    """Temporary names of `path` a killed job left behind (its next run is the only writer)."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`; rename it onto `path` only on success.

    The result gets the mode a plain open() would give it (mkstemp makes 0600), so the rest
    of a team can read results under a shared umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def share_modes(folder):
    """Give every file under `folder` the mode a plain open() gives it: safetensors writes its
    files 0600 whatever the umask, so a team sharing results/ could not read the models."""
    umask = _umask()
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~umask)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o666 & ~umask)


@contextmanager
def atomic_dir(path):
    """Yield a temporary folder next to `path`; move it onto `path` only on success, with the
    modes a plain mkdir and open() would give it and what is in it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        share_modes(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path, obj):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl(path, rows):
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_parquet(path, frame):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(path, frame):
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)
