"""The library's stage layering: enforced by import-linter, drawn in docs/structure.md."""

import subprocess
import sys

from conftest import BIN, REPO


def test_stages_import_only_earlier_stages():
    proc = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_structure_drawing_is_current():
    drawn = subprocess.run([sys.executable, str(REPO / "ci/structure.py")], capture_output=True, text=True, check=True)
    assert (REPO / "docs/structure.md").read_text() == drawn.stdout, "docs/structure.md is stale: run `make structure`"
