"""The Snakemake report answers first: on the tiny CI run, `snakemake --report` holds the summary page
under "0 Summary", and that page carries the run's own numbers (read back from the run's tables here,
never hard-coded); the Hopf figures and the result tables are attached; figures are report-sized.

Set ENCEPHAGEN_TEST_RUN_DIR to a finished CI run (snakemake --configfile tests/config/ci.yaml) to check
it without running the workflow again; otherwise the workflow runs here."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CFG = "tests/config/ci.yaml"


def smk(wd: Path, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    return subprocess.run([SNAKEMAKE, *args, "--configfile", CFG], cwd=wd, capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def run_dir(request):
    given = os.environ.get("ENCEPHAGEN_TEST_RUN_DIR")
    if given:
        wd = Path(given)
        assert (wd / "results" / "summary" / "summary.html").exists(), f"{wd}: not a finished run"
        return wd
    return request.getfixturevalue("ci_run")   # the session's one CI run (conftest.py), read only


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report.zip"
    r = smk(run_dir, "--cores", "1", "--report", str(out), timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Undefined substitution" not in r.stderr and "ERROR/" not in r.stderr, r.stderr[-3000:]
    z = zipfile.ZipFile(out)
    html = z.read("report/report.html").decode()
    return z, html


def _entry(html: str, path: str) -> dict:
    m = re.search(re.escape(json.dumps(path)) + r": (\{.*?\"data_uri\": \"[^\"]*\"\})", html)
    assert m, f"{path} not in the report"
    return json.loads(m.group(1))


def _data(z: zipfile.ZipFile, uri: str) -> bytes:
    if uri.startswith("data:"):
        return base64.b64decode(uri.split(",", 1)[1])
    return z.read("report/" + uri)


def test_summary_page_comes_first_and_carries_the_run_numbers(run_dir, report):
    z, html = report
    cats = re.search(r'"0 Summary": \{[^}]*\}', html)
    assert cats and "results/summary/summary.html" in cats.group(0)
    page = _data(z, _entry(html, "results/summary/summary.html")["data_uri"]).decode()
    from encephagen.figures.summary import _fmt

    res = run_dir / "results"
    h = pd.read_csv(res / "hopf/atlas-hcp80/heldout_vs_nulls.tsv", sep="\t")
    assert f"<td>{_fmt(h['real_test_pearson'].iloc[0])}</td>" in page          # analytic Hopf held-out r
    assert f"<td>{_fmt(h['sc_log_pearson'].iloc[0])}</td>" in page             # its SC-only baseline
    assert f"<td>{_fmt(h['null_test_pearson_median'].iloc[0])}</td>" in page   # the nulls' median
    f = pd.read_csv(res / "stats/atlas-hcp80/model-wilson_cowan/fc_fit_summary.tsv", sep="\t")
    assert f"<td>{_fmt(f['real_test_pearson'].iloc[0])}</td>" in page          # simulated held-out r
    for atlas in ("tvb96", "hcp80"):
        st = pd.read_csv(res / f"stats/atlas-{atlas}/model-wilson_cowan/network_stats.tsv", sep="\t")
        for fam, g in st.groupby("family"):
            row = f"<td>{atlas}</td><td>wilson_cowan</td><td>network</td><td>{fam}</td><td>{len(g)}</td>"
            assert row in page, (atlas, fam)
    n = 4  # tests/config/ci.yaml nulls.n_per_family, read back below
    import yaml

    n = yaml.safe_load((REPO / CFG).read_text())["nulls"]["n_per_family"]
    assert f"smallest attainable p is 1/(N+1) = {_fmt(1 / (n + 1))}" in page
    assert "The question" in page and "What survived FDR" in page
    # the workflow description is filled from the config
    assert "Start with" in html and "tvb96, hcp80" in html


def test_hopf_figures_and_result_tables_are_attached_and_figures_fit_the_report(run_dir, report):
    z, html = report
    from PIL import Image

    for name in ("hopf_fit.png", "hopf_heldout.png"):
        e = _entry(html, f"results/figures/atlas-hcp80/model-hopf_linear/{name}")
        assert e["caption"] and "hcp80" in e["caption"] and "gw80" in e["caption"]   # caption filled from the run
    _entry(html, "results/summary/tables/stats__atlas-tvb96__model-wilson_cowan__network_stats.tsv")
    for p in (run_dir / "results" / "figures").rglob("*.png"):
        w, h = Image.open(p).size
        assert w <= 3000 and h <= 3000, (p, w, h)
