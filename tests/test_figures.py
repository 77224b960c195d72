"""Every figure writes a non-empty PNG and PDF atomically from the analysis tables."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from encephagen.analysis.fc import fit_curve, fit_g, similarity_table
from encephagen.analysis.hierarchy import class_summary, silencing_order, t1t2_correlation
from encephagen.analysis.stats import compare_to_nulls
from encephagen.analysis.synthetic import make_fc_sweep, make_silencing, make_tables
from encephagen.figures import (plot_fc_matrices, plot_fit_vs_g, plot_hierarchy, plot_metric_distributions,
                                plot_null_properties, plot_silencing_order, plot_t1t2, save_figure)
from encephagen.figures._save import plt


def _check(paths, tmp_path: Path, stem: str):
    assert [p.name for p in paths] == [f"{stem}.png", f"{stem}.pdf"]
    png, pdf = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 2000
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.fixture(scope="module")
def regional():
    return make_tables(n_regions=20, n_nulls=15, n_seeds=2, metrics=("tau",), families=("degree", "er"),
                       profile_scale={"er": 0.0})


def test_metric_distributions(tmp_path):
    df = make_tables(metrics=("m0", "m1", "m2"), n_nulls=20, real_offset={"m0": 6})
    st = compare_to_nulls(df, min_nulls=10)
    _check(plot_metric_distributions(df, st, tmp_path / "metrics"), tmp_path, "metrics")


def test_decomposition_figure(tmp_path):
    from encephagen.analysis.decompose import decompose
    from encephagen.figures import plot_decomposition

    df = make_tables(metrics=("m0", "m1"), n_nulls=20, real_offset={"m0": 6})
    _check(plot_decomposition(decompose(compare_to_nulls(df, min_nulls=10)), tmp_path / "dec"), tmp_path, "dec")


def test_null_properties(tmp_path):
    rng = np.random.default_rng(0)
    rows = [("real", 0, "clustering", 0.5), ("real", 0, "density", 0.2)]
    rows += [(f, i, p, v + rng.normal(0, 0.05)) for f in ("degree", "er") for i in range(30)
             for p, v in (("clustering", 0.4), ("density", 0.2))]
    props = pd.DataFrame(rows, columns=["family", "null_index", "property", "value"])
    _check(plot_null_properties(props, tmp_path / "props"), tmp_path, "props")


def test_hierarchy_and_t1t2(tmp_path, regional):
    _check(plot_hierarchy(class_summary(regional), tmp_path / "hier"), tmp_path, "hier")
    prof = regional[regional.family == "real"].groupby("region")["value"].mean()
    t1t2 = pd.Series(-prof.to_numpy(), index=prof.index)
    rng = np.random.default_rng(1)
    P = rng.uniform(0, 100, (20, 3))
    corr = t1t2_correlation(regional, t1t2, distances=cdist(P, P), n_surrogates=50, seed=1)
    rc = regional.drop_duplicates("region").set_index("region")["region_class"]
    _check(plot_t1t2(prof, t1t2, tmp_path / "t1t2", region_class=rc, corr=corr), tmp_path, "t1t2")


def test_fc_figures(tmp_path):
    sim, meta, emp = make_fc_sweep(n=12, n_nulls=10, n_seeds=2)
    t = similarity_table(sim, meta, {"tr": emp["train"], "te": emp["test"]})
    _, summ = fit_g(t, train="tr", test="te")
    cur = fit_curve(t, dataset="te")
    _check(plot_fit_vs_g(cur, tmp_path / "fit", baselines={"raw Pearson": 0.1},
                         best={"best G (train)": float(summ["real_best_G"].iloc[0])}), tmp_path, "fit")
    _check(plot_fc_matrices(sim[0], emp["test"], tmp_path / "fcm", sc=np.abs(sim[1])),
           tmp_path, "fcm")
    with pytest.raises(ValueError, match="shapes differ"):
        plot_fc_matrices(sim[0], sim[0][:5, :5], tmp_path / "bad")


def test_silencing(tmp_path):
    _, summ = silencing_order(make_silencing(n_nulls=8, n_regions=12), metric="rate", threshold=0.5)
    _check(plot_silencing_order(summ, tmp_path / "sil"), tmp_path, "sil")


def test_failed_save_leaves_nothing(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    stem = tmp_path / "x"
    orig = fig.savefig

    def boom(fname, format=None, **kw):  # noqa: A002
        if format == "pdf":
            Path(fname).write_bytes(b"%PDF-partial")
            raise RuntimeError("disk full")
        return orig(fname, format=format, **kw)

    fig.savefig = boom
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, stem)
    assert not (tmp_path / "x.pdf").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_empty_input_named(tmp_path):
    with pytest.raises(ValueError, match="class summary: missing column"):
        plot_hierarchy(pd.DataFrame({"family": []}), tmp_path / "h")


def test_fc_matrices_real_data(tmp_path, resources_dir):
    from encephagen.data import load_empirical_fc
    from encephagen.steps.figures import figure_fc_matrices

    b = load_empirical_fc("gw80", resources_dir)["fc"]
    _check(figure_fc_matrices(b, resources_dir / "fc" / "hcp80.h5", tmp_path / "hcp80", sim_title="gw80 FC",
                              connectome=resources_dir / "connectomes" / "hcp80.h5"), tmp_path, "hcp80")


def test_file_level_figures_from_run_outputs(tmp_path):
    from encephagen.analysis.run import run_fc_fit, run_silencing, run_statistics, write_table
    from encephagen.analysis.tables import TableError
    from encephagen.steps.figures import (figure_fit, figure_hierarchy, figure_metrics, figure_null_properties,
                                        figure_silencing)

    net = pd.concat([make_tables(metrics=("a", "b"), n_nulls=12, G=(0.1, 0.2))], ignore_index=True)
    reg = make_tables(metrics=("tau",), n_regions=8, n_nulls=12, G=(0.1, 0.2))
    write_table(net, tmp_path / "net.tsv")
    out = {k: tmp_path / f"{k}.tsv" for k in ("network_stats", "class_summary")}
    run_statistics(tmp_path / "net.tsv", reg, out=out, min_nulls=10)
    sel = {"atlas": "syn20", "model": "hopf", "G": 0.2}
    _check(figure_metrics(tmp_path / "net.tsv", out["network_stats"], tmp_path / "m", select=sel), tmp_path, "m")
    with pytest.raises(TableError, match=r"several values of 'G' remain \(0.1, 0.2\)"):
        figure_metrics(tmp_path / "net.tsv", out["network_stats"], tmp_path / "m2", select={"model": "hopf"})
    with pytest.raises(TableError, match="no rows for selection"):
        figure_hierarchy(out["class_summary"], tmp_path / "h", select={"G": 0.7})
    _check(figure_hierarchy(out["class_summary"], tmp_path / "h", select=sel), tmp_path, "h")
    sim, meta, emp = make_fc_sweep(n=12, n_nulls=10, n_seeds=2)
    t = similarity_table(sim, meta, {"a": emp["train"], "b": emp["test"]})
    w = run_fc_fit(t, train="a", test="b", min_nulls=10, baselines={"raw_pearson": 0.1, "log_pearson": 0.2},
                   out={"summary": tmp_path / "fs.tsv", "curve": tmp_path / "fc.tsv"})
    _check(figure_fit(w["curve"], w["summary"], tmp_path / "f", select={"atlas": "syn20"}), tmp_path, "f")
    w = run_silencing(make_silencing(n_nulls=5, n_regions=8), metric="rate", threshold=0.5,
                      out={"summary": tmp_path / "sil.tsv"})
    _check(figure_silencing(w["summary"], tmp_path / "s"), tmp_path, "s")
    props = pd.DataFrame({"atlas": "x", "family": ["real", "degree", "degree"], "null_index": [0, 0, 1],
                          "status": "ok", "reason": "", "density": [0.2, 0.2, 0.2], "clustering_bin": [0.5, 0.4, 0.41]})
    _check(figure_null_properties(props, tmp_path / "p"), tmp_path, "p")
