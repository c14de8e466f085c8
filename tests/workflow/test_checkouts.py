"""Two checkouts sharing one virtualenv each run their own library code."""

import os
import shutil
import subprocess

from conftest import BIN, REPO, make_workdir


def test_a_second_checkout_runs_its_own_code(tmp_path):
    """The venv's editable install points at the first checkout; jobs of a second one must
    still import the second one's src/ (the scripts used to compute the path wrongly, and
    the install silently won)."""
    copy = tmp_path / "second"
    copy.mkdir()
    for name in ("Snakefile", "workflow", "src", "config", "profiles", "envs"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    marker = "THIS IS THE SECOND CHECKOUT"
    smk = copy / "src/shoplora/io/smk.py"
    smk.write_text(
        smk.read_text().replace(
            "        os.dup2(handle.fileno(), 2)\n",
            f"        os.dup2(handle.fileno(), 2)\n        print({marker!r}, file=handle)\n",
        )
    )
    assert marker in smk.read_text()
    (tmp_path / "work").mkdir()
    workdir = make_workdir(tmp_path / "work")
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [
            str(BIN / "snakemake"),
            "-s",
            str(copy / "Snakefile"),
            "-d",
            str(workdir),
            "--cores",
            "1",
            "results/corpus/raw/products.parquet",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert marker in (workdir / "logs/download_corpus/products/0.log").read_text()
