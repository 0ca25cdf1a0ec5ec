"""Every notebook runs top to bottom in quick mode.

The code cells are executed in order in one namespace (no Jupyter kernel needed), with
SIM_QUICK=1 and results written to a temporary folder.
"""

import json
import os
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setenv("SIM_QUICK", "1")
    monkeypatch.setenv("SIM_OUT", str(tmp_path))
    monkeypatch.chdir(ROOT)
    nb = json.loads(path.read_text())
    namespace: dict = {"__name__": "__notebook__"}
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        src = "".join(cell["source"])
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        exec(compile(src, f"{path.name}[cell {i}]", "exec"), namespace)
    assert os.environ["SIM_QUICK"] == "1"
