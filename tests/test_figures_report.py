"""Figures sized and labelled for the report: the silencing figure says "nothing silenced" instead of
an empty plot and never draws outside the sweep; the decomposition figure stays report-sized; an
all-NaN null property panel carries a note; region classes in the T1w/T2w legend never share colour
and marker; axes carry words with units, not variable names; brain maps at the MNI centres.
Each figure is inspected as matplotlib drew it (the real figure object, captured at save time)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D

import encephagen.figures.plots as P
from encephagen.analysis.hierarchy import silencing_order
from encephagen.analysis.synthetic import make_silencing

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def captured(monkeypatch):
    """Every figure handed to save_figure, inspected before it is written and closed."""
    figs = []
    real = P.save_figure

    def keep(fig, stem, **kw):
        figs.append({"fig": fig, "size": tuple(fig.get_size_inches()),
                     "texts": [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))],
                     "axes": [(ax.get_xlim(), [ln for ln in ax.get_lines() if len(ln.get_xdata())], ax)
                              for ax in fig.axes]})
        return real(fig, stem, **kw)

    monkeypatch.setattr(P, "save_figure", keep)
    return figs


G = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def test_silencing_nothing_silenced_is_a_note_not_an_empty_plot(tmp_path, captured):
    reg = make_silencing(G=G, n_nulls=5, n_seeds=2)
    _, summ = silencing_order(reg, metric="rate", threshold=-1.0)  # rate is never below -1: nothing silenced
    assert not np.isfinite(summ["g_first_median"].astype(float)).any()
    P.plot_silencing_order(summ, tmp_path / "s", g_values=G)
    f = captured[-1]
    assert any("No region" in t and "silenced" in t for t in f["texts"])
    assert all(not lines for _, lines, _ in f["axes"])  # no markers at all
    assert not any("same order" in t for t in f["texts"])  # no '100 %' claim about an undefined order
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_silencing_markers_stay_inside_the_sweep(tmp_path, captured):
    reg = make_silencing(G=G, n_nulls=5, n_seeds=2, class_g={"sensory": 0.35, "association": 0.55,
                                                             "limbic": 0.75, "subcortical": 5.0})
    _, summ = silencing_order(reg, metric="rate", threshold=0.5)
    assert np.isinf(summ["g_first_median"].astype(float)).any()  # some class never silenced
    P.plot_silencing_order(summ, tmp_path / "s", g_values=G)
    (xlo, xhi), lines, ax = captured[-1]["axes"][0]
    xs = np.concatenate([np.asarray(ln.get_xdata(), float) for ln in lines])
    assert np.all(xs >= min(G) - 1e-12) and np.all(xs <= max(G) + 1e-12)
    assert xlo <= min(G) and xhi >= max(G)
    assert "global coupling G" in ax.get_xlabel()
    assert any("not silenced up to" in t for t in captured[-1]["texts"])


def test_decomposition_figure_is_report_sized(tmp_path, captured):
    from PIL import Image

    n = 120
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"metric": [f"acf_tau_ms[class{i}]" for i in range(n)],
                      "verdict": ["reproduced by the degree sequence; a much longer verdict text " * 2] * n,
                      "z_degree": rng.normal(0, 3, n), "z_weight_perm": rng.normal(0, 3, n)})
    P.plot_decomposition(d, tmp_path / "d")
    w, h = captured[-1]["size"]
    assert h <= 11.0 and w <= 12
    assert any(f"of {n} rows shown" in t for t in captured[-1]["texts"])
    px = Image.open(tmp_path / "d.png").size
    assert px[0] < 2600 and px[1] < 2000, px


def test_empty_null_property_panel_has_a_note(tmp_path, captured):
    props = pd.DataFrame({"family": ["real"] + ["degree"] * 4, "null_index": range(5),
                          "density": [0.3, 0.3, 0.3, 0.3, 0.3], "rich_club": [np.nan] * 5,
                          "status": ["ok"] * 5})
    P.plot_null_properties(props, tmp_path / "p")
    assert any("rich_club: no finite value" in t.replace("\n", " ") for t in captured[-1]["texts"])


def test_t1t2_region_classes_never_share_colour_and_marker(tmp_path, captured):
    n = 48
    idx = pd.Index(range(n))
    classes = pd.Series([f"class{i % 12}" for i in range(n)], index=idx)
    rng = np.random.default_rng(1)
    P.plot_t1t2(pd.Series(rng.normal(size=n), index=idx), pd.Series(rng.normal(size=n), index=idx),
                tmp_path / "t", region_class=classes, metric="acf_tau_ms")
    ax = captured[-1]["fig"].axes[0]
    handles = ax.get_legend().legend_handles
    styles = {(tuple(np.round(h.get_facecolor()[0][:3], 4)), h.get_paths()[0].vertices.shape[0]) for h in handles}
    assert len(handles) == 12 and len(styles) == 12
    assert ax.get_ylabel() == "autocorrelation time (ms)"


def test_fit_figure_axis_says_global_coupling(tmp_path, captured):
    curve = pd.DataFrame({"family": ["real"] * 3 + ["degree"] * 3, "G": [0.1, 0.2, 0.3] * 2,
                          "mean": [0.2, 0.4, 0.3, 0.1, 0.2, 0.1], "lo": [0.1] * 6, "hi": [0.5] * 6})
    P.plot_fit_vs_g(curve, tmp_path / "f")
    assert captured[-1]["fig"].axes[0].get_xlabel() == "global coupling G"


def test_brain_maps_at_mni_centres_and_a_note_without_them(tmp_path):
    from encephagen.figures.brain import plot_brain_maps

    rng = np.random.default_rng(2)
    centres = np.column_stack([rng.uniform(-60, 60, 20), rng.uniform(-90, 60, 20), rng.uniform(-30, 70, 20)])
    vals = rng.normal(size=20)
    vals[3] = np.nan
    out = plot_brain_maps({"metric": vals, "z": rng.normal(size=20)}, centres, tmp_path / "b", symmetric=["z"])
    assert all(p.stat().st_size > 5000 for p in out)
    out = plot_brain_maps({"metric": vals}, centres, tmp_path / "n", centres_space="TVB native frame")
    assert (tmp_path / "n.png").exists()


def test_hopf_heterogeneity_figure_from_a_real_fit(tmp_path):
    """The heterogeneity figure drawn from a real (small) fit on hcp80 -> gw80: the best point and the
    held-out r of the map, the homogeneous model and the surrogates as the file records them."""
    import json
    import os

    from encephagen.steps.data import prepare_resources
    from encephagen.figures.hopf import figure_hopf_heterogeneity
    from encephagen.steps.hopf import heterogeneity_file, sweep_file

    res = Path(os.environ.get("ENCEPHAGEN_TEST_RESOURCES", REPO / ".pytest_cache" / "encephagen-resources"))
    prepare_resources(res, ["hcp80", "gw80"], stages=("connectomes", "t1t2", "fc"))
    params = {"G": {"start": 0.01, "stop": 3.0, "num": 8, "spacing": "log"},
              "heterogeneity": {"n_null": 12, "refine": 1}}
    sw = sweep_file(res / "connectomes/hcp80.h5", res / "fc/hcp80.h5", res / "fc/gw80.h5", tmp_path / "sw.h5",
                    params=params, atlas="hcp80")
    h5 = heterogeneity_file(res / "connectomes/hcp80.h5", res / "t1t2/hcp80.tsv", res / "fc/hcp80.h5",
                            res / "fc/gw80.h5", sw, tmp_path / "het.h5", tmp_path / "het.tsv", params=params,
                            master_seed=7)
    import h5py

    with h5py.File(h5, "r") as f:
        best = json.loads(f.attrs["best"])
    figs = []
    import encephagen.figures.hopf as H

    real_save = H.save_figure
    H.save_figure = lambda fig, stem, **kw: (figs.append([t.get_text() for t in fig.findobj(
        lambda o: hasattr(o, "get_text"))]), real_save(fig, stem, **kw))[1]
    try:
        out = figure_hopf_heterogeneity(h5, tmp_path / "het")
    finally:
        H.save_figure = real_save
    assert all(p.stat().st_size > 5000 for p in out)
    texts = " ".join(figs[0])
    assert f"T1w/T2w map r = {best['r_test']:.3f}" in texts and f"homogeneous r = {best['hom_r_test']:.3f}" in texts
    assert "surrogates (N=12)" in texts
