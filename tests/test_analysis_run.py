"""File-level entry points: tables in, TSVs out (atomic), on synthetic tables and real T1w/T2w."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from encephagen.analysis.fc import similarity_table
from encephagen.analysis.hierarchy import SPATIAL_NULL
from encephagen.analysis.run import (read_table, run_fc_fit, run_silencing, run_statistics, run_t1t2,
                                     write_table)
from encephagen.analysis.synthetic import make_fc_sweep, make_silencing, make_tables


def test_run_statistics_writes_all_tables(tmp_path):
    net = make_tables(metrics=("mean_fc", "sync"), n_nulls=199, real_offset={"sync": 8})
    reg = make_tables(metrics=("tau",), n_regions=8, n_nulls=199)
    p = tmp_path / "network.tsv.gz"
    write_table(net, p)
    assert read_table(p).shape == net.shape
    out = {k: tmp_path / f"{k}.tsv" for k in ("network_stats", "regional_stats", "decomposition", "class_summary")}
    w = run_statistics(p, reg, out=out, min_nulls=10, class_contrasts=[("sensory", "association")])
    assert set(w) == set(out)
    st = pd.read_csv(out["network_stats"], sep="\t")
    assert set(st.metric) == {"mean_fc", "sync", "tau_mean_over_regions", "tau[sensory]", "tau[association]",
                              "tau[limbic]", "tau[subcortical]", "tau[sensory - association]"}
    assert st.set_index(["metric", "family"]).loc[("sync", "degree"), "significant"]
    assert st["single_effect_detectable"].all()        # 8 tests, N = 199: isolated q = 8/200 < 0.05
    d = pd.read_csv(out["decomposition"], sep="\t")
    assert d.set_index("metric").loc["sync", "verdict"].startswith("specific wiring")
    assert not [x for x in tmp_path.iterdir() if ".tmp-" in x.name]


def test_run_fc_fit_and_silencing(tmp_path):
    sim, meta, emp = make_fc_sweep(n=16, n_nulls=10, n_seeds=3)
    t = similarity_table(sim, meta, {"a": emp["train"], "b": emp["test"]})
    w = run_fc_fit(t, train="a", test="b", min_nulls=10, baselines={"raw_pearson": 0.1},
                   out={k: tmp_path / f"{k}.tsv" for k in ("networks", "summary", "curve", "curve_train")})
    s = pd.read_csv(w["summary"], sep="\t")
    assert s["real_best_G"].iloc[0] == pytest.approx(0.3) and s["n_nulls"].iloc[0] == 10
    w = run_silencing(make_silencing(n_nulls=5, n_regions=8), metric="rate", threshold=0.5,
                      out={"summary": tmp_path / "sil.tsv"})
    assert "order" in pd.read_csv(w["summary"], sep="\t").columns


def test_run_t1t2_real_schaefer100(tmp_path, resources_dir):
    """Real T1w/T2w and distances of schaefer100; a synthetic regional metric planted as -T1w/T2w."""
    from encephagen.data import load_connectome

    c = load_connectome("schaefer100", resources_dir)
    t = pd.read_csv(resources_dir / "t1t2" / "schaefer100.tsv", sep="\t", comment="#")
    rows = []
    rng = np.random.default_rng(0)
    x = t["t1t2"].to_numpy()
    for fam, k in (("real", 1), ("degree", 10)):
        for i in range(k):
            prof = -x if fam == "real" else rng.permutation(-x)
            for s in range(2):
                vals = prof + rng.normal(0, 0.02, x.size)
                rows += [("schaefer100", "hopf", fam, i, s, r, "tau", v) for r, v in enumerate(vals)]
    reg = pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "region", "metric", "value"])
    assert c.distances is not None
    path = run_t1t2(reg, resources_dir / "t1t2" / "schaefer100.tsv", out=tmp_path / "t1t2.tsv",
                    distances=resources_dir / "connectomes" / "schaefer100.h5", n_surrogates=100, seed=3)
    res = pd.read_csv(path, sep="\t").set_index("reference")
    assert res.loc[SPATIAL_NULL, "rho"] < -0.95
    assert res.loc[SPATIAL_NULL, "p_two"] <= 0.05
    assert res.loc[SPATIAL_NULL, "n_regions"] == int(np.isfinite(x).sum())
