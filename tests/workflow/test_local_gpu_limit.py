"""A local run on a GPU machine starts no two GPU jobs at once (the workflow's own limit,
shoplora.runtime.device.limit_local_gpu_jobs), while CPU-only machines run GPU rules side by side."""

import json
import subprocess

import pytest

from conftest import BIN

SNAKEFILE = """
from shoplora.runtime.device import limit_local_gpu_jobs

limit_local_gpu_jobs(workflow)


rule all:
    input:
        expand("done/{name}.json", name=["a", "b"]),


rule gpu_job:
    output:
        "done/{name}.json",
    resources:
        gpu=1,
    shell:
        "start=$(date +%s.%N); sleep 2; "
        "echo '{{\\"start\\": '$start', \\"end\\": '$(date +%s.%N)'}}' > {output}"
"""


def spans(tmp_path, env):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "2", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", **env}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sorted(
        (json.loads(p.read_text())["start"], json.loads(p.read_text())["end"]) for p in (tmp_path / "done").iterdir()
    )


@pytest.mark.parametrize(("visible", "overlap"), [("0", False), ("", True)])
def test_gpu_jobs_wait_for_the_one_gpu(tmp_path, visible, overlap):
    (first_start, first_end), (second_start, _) = spans(tmp_path, {"CUDA_VISIBLE_DEVICES": visible})
    assert (second_start < first_end) is overlap
