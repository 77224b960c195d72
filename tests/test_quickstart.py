"""docs/quickstart.md is executable: its code blocks are examples/quickstart.py (and the notebook's
code cells), and running them, in order, with small sizes works on the real packaged data."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "quickstart.md"
SCRIPT = REPO / "examples" / "quickstart.py"
NOTEBOOK = REPO / "examples" / "quickstart.ipynb"


def doc_blocks() -> list[str]:
    return [b.rstrip("\n") for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)]


def script_body() -> str:
    return SCRIPT.read_text().split('"""', 2)[2].strip("\n")


def test_doc_notebook_and_script_hold_the_same_code():
    blocks = doc_blocks()
    assert len(blocks) >= 6
    assert "\n\n".join(blocks) == script_body()
    nb = json.loads(NOTEBOOK.read_text())
    cells = ["".join(c["source"]).rstrip("\n") for c in nb["cells"] if c["cell_type"] == "code"]
    assert cells == blocks


def test_quickstart_code_runs(tmp_path):
    code = "\n\n".join(doc_blocks())
    (tmp_path / "qs.py").write_text(code)
    # the shared test cache (prepare_resources in the code validates it and builds what is missing)
    res = os.environ.get("ENCEPHAGEN_TEST_RESOURCES", str(REPO / ".pytest_cache" / "encephagen-resources"))
    env = dict(os.environ, PYTHONPATH=str(REPO), ENCEPHAGEN_RESOURCES=res, QS_NULLS="3",
               QS_DURATION_MS="1000", QS_SEEDS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "qs.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    out = r.stdout
    assert "hcp80: 80 regions" in out and "3 weight_perm nulls" in out
    m = re.search(r"held-out r: real ([-\d.]+) at G=\S+; weight_perm nulls median ([-\d.]+); p = ([\d.]+)", out)
    assert m, out
    real, null_med, p = map(float, m.groups())
    assert -1 <= null_med <= 1 and -1 <= real <= 1 and 1 / 4 <= p <= 1  # N = 3: smallest attainable p is 1/4
    assert re.search(r"simulated 4 runs of 80 regions", out), out
    assert "simulated activity FC vs gw80" in out
