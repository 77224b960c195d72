"""Every HDF5 file kind encephagen writes opens in xarray (``engine="h5netcdf"``) as labelled arrays:
named dimensions (never ``phony_dim_*``), coordinates (region labels, G, seed id, null index, run)
and units, with the same values as the library's own reader (docs/outputs.md).

The files are made by the library's writers from small inputs (the packaged hcp80 connectome and
its group FCs): a connectome and its per-subject file, two group FCs, null batches, a neural-mass
simulation, a spiking (LIF) simulation, the linear-Hopf sweep and heterogeneity fit, and the
aggregate store.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")

ATLAS = "hcp80"
SMALL_LIF = {"n_e": 8, "n_i": 2, "p_int": 0.3}
SMALL_PLASTIC = {"seeds_per_network": 2, "transient": 20.0, "batch_size": 4,
                 "params": {"n_e": 8, "n_i": 2, "p_int": 0.4, "p_between": 0.3, "velocity": 10.0},
                 "conditioning": {"n_trials": 4, "on_ms": 20.0, "iti_ms": 20.0, "pattern_regions": 2, "block": 2},
                 "record_every_ms": 10.0}
SMALL_EVOKED = {"seeds_per_network": 2, "transient": 20.0, "params": {"n_e": 4, "n_i": 1, "p_int": 0.4, "velocity": 10.0},
                "trials": {"n_trials": 2, "off_ms": 5.0, "baseline_ms": 20.0, "on_ms": 20.0}}
SMALL_COGNITION = {"seeds_per_network": 2, "transient": 20.0,
                   "params": {"n_e": 4, "n_i": 1, "p_int": 0.4, "velocity": 10.0},
                   "memory": {"n_trials": 1, "off_ms": 5.0, "baseline_ms": 10.0, "cue_ms": 10.0, "delay_ms": 20.0,
                              "bin_ms": 10.0, "persistence_ms": 10.0},
                   "patterns": {"n_classes": 2, "n_per_class": 4, "off_ms": 5.0, "on_ms": 10.0, "cv_folds": 2}}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, resources_dir) -> dict[str, list[Path]]:
    """kind -> files written by the library (module-scoped: made once)."""
    from encephagen.steps.aggregate import aggregate
    from encephagen.connectome import Connectome
    from encephagen.steps.data import convert_connectome
    from encephagen.steps.data import convert_fc
    from encephagen.steps.hopf import heterogeneity_file, sweep_file
    from encephagen.nulls import read_nulls
    from encephagen.steps.nulls import write_null_batch
    from encephagen.nulls.families import generate_batch, prepare_source
    from encephagen.study.engines.neural_mass import run_networks
    from encephagen.study.engines.lif import run_lif_networks

    d = tmp_path_factory.mktemp("xarray_outputs")
    res = d / "resources"
    shutil.copytree(Path(resources_dir) / "raw", res / "raw", symlinks=True)
    conn = convert_connectome(ATLAS, res)                    # connectome + connectome_subjects
    fcs = [convert_fc(ds, res) for ds in ("hcp80", "gw80")]  # empirical_fc
    c = Connectome.load(conn)
    src = prepare_source(c)
    nulls = {}
    for fam, idx in (("real", [0]), ("weight_perm", [0, 1])):
        nulls[fam] = write_null_batch(d / f"nulls-{fam}.h5", generate_batch(src, fam, idx, 7, atlas=ATLAS))
    nets = [(ATLAS, "real", 0, c.weights, c.lengths)]
    nb = read_nulls(nulls["weight_perm"])
    nets += [(ATLAS, "weight_perm", int(x.null_index), x.weights, x.lengths) for x in nb]
    sim_cfg = {"model": "wilson_cowan", "G": [0.1, 0.2], "duration": 300.0, "transient": 50.0, "dt": 0.1,
               "compile": False, "monitors": {"bold": False, "fc_activity": True}}
    sim = run_networks(sim_cfg, nets, 2, 7, d / "sim.h5", region_labels=c.labels)
    lif = run_lif_networks({"params": SMALL_LIF, "duration": 200.0, "transient": 50.0, "G": [0.5],
                            "batch_size": 4, "store_rates": True}, nets[:2], 1, 7, d / "lif.h5",
                           region_labels=c.labels)
    from encephagen.study import run_study
    plastic = run_study("plastic_lif", {**SMALL_PLASTIC, "protocol": "conditioning"}, nets[:2], 7, d / "plastic.h5",
                        region_labels=c.labels)
    evoked = run_study("evoked_lif", SMALL_EVOKED, nets[:2], 7, d / "evoked.h5", region_labels=c.labels,
                       stim_regions=[0, 1])
    cognition = run_study("cognition_lif", SMALL_COGNITION, nets[:2], 7, d / "cognition.h5", region_labels=c.labels,
                          prefrontal=[0, 1], inputs=[2, 3])
    # the closed loop (engine embody): two short Walker2d episodes of one control
    embody = run_study("embody", {"controller": "zero", "n_seeds": 2, "max_steps": 10}, nets[:1], 7, d / "embody.h5",
                       seed_ids=[100, 101])
    hopf_cfg = {"G": {"start": 0.05, "stop": 1.0, "num": 5, "spacing": "log"},
                "heterogeneity": {"n_null": 3, "null": "permutation", "refine": 0,
                                  "bias": {"start": -0.2, "stop": -0.01, "num": 3},
                                  "scale_relative": {"start": -0.5, "stop": 0.5, "num": 3}}}
    sweeps = [sweep_file(nulls[fam], fcs[0], fcs[1], d / f"hopf-{fam}.h5", params=hopf_cfg, atlas=ATLAS)
              for fam in nulls]
    het = heterogeneity_file(conn, Path(resources_dir) / "t1t2" / f"{ATLAS}.tsv", fcs[0], fcs[1], sweeps[0],
                             d / "het.h5", d / "het.tsv", params=hopf_cfg, master_seed=7, atlas=ATLAS,
                             real_network=nulls["real"])
    aggregate([sim], connectome=c, empirical={"hcp80": np.eye(c.n)}, out_store=d / "store.h5",
              out_network=d / "network.tsv", out_regional=d / "regional.tsv", expected_nulls={"weight_perm": 2})
    files = [conn, conn.with_name(f"{ATLAS}_subjects.h5"), *fcs, *nulls.values(), sim, lif, plastic, evoked, cognition, embody,
             *sweeps, het, d / "store.h5"]
    out: dict[str, list[Path]] = {}
    for p in files:
        out.setdefault(_layout(p).name, []).append(Path(p))
    return out


def _layout(path):
    """The layout of a file: its kind's, or for a kind with variants (runs) its engine's."""
    from encephagen.io.h5 import resolve_kind

    with h5py.File(path, "r") as f:
        return resolve_kind(str(f.attrs["encephagen_kind"]), dict(f.attrs))[2]


def _layouts():
    from encephagen.io.kinds import KINDS

    return [v for k in KINDS for v in (k.variants.values() if k.variants else (k,))]


def _labelled(path) -> dict[str, "xr.Dataset"]:
    """The file's groups, after checking that every variable has exactly the dimensions its kind
    declares (encephagen/io/kinds.py): a lost dimension scale shows up as ``phony_dim_*`` or as
    another dimension of the same length (h5netcdf's guess), both refused here."""
    from encephagen.io.h5 import _dims_of

    kind = _layout(path)
    tree = xr.open_datatree(path, engine="h5netcdf")
    for node in tree.subtree:
        own = node.to_dataset(inherit=False)
        phony = [d for d in own.dims if str(d).startswith("phony_dim")]
        assert not phony, f"{path}: group {node.path!r} has unnamed dimensions {phony}: {dict(own.sizes)}"
        for name, var in own.variables.items():
            where = f"{node.path.strip('/')}/{name}".lstrip("/")
            want = (name,) if name in {d.name for d in kind.dims} else _dims_of(kind, where, var.ndim)
            assert var.dims == want, f"{path}: {where} has dimensions {var.dims}, {kind.name!r} declares {want}"
    return {node.path: node.to_dataset() for node in tree.subtree}


def _same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "fc":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert [str(x) for x in a.ravel()] == [str(x) for x in b.ravel()], what


def test_every_declared_kind_is_written_and_opens_labelled(outputs):
    """The fixture covers every declared kind (every engine's layout of 'runs'); each file opens
    with exactly the dimensions its kind declares."""
    declared = {k.name for k in _layouts()}
    assert declared <= set(outputs), \
        f"kinds declared in encephagen/io/kinds.py without a file in this test: {sorted(declared - set(outputs))}"
    for paths in outputs.values():
        for p in paths:
            _labelled(p)


def test_every_required_dataset_has_declared_dimensions():
    """A kind's required datasets all have dimension names (else xarray invents phony_dim_*)."""
    from encephagen.io.h5 import _dims_of

    for kind in _layouts():
        dims = {d.name for d in kind.dims}
        for name, ndim in kind.datasets.items():
            got = _dims_of(kind, name, ndim or 1)
            assert name in dims or got, f"kind {kind.name!r}: dataset {name!r} has no declared dimensions"
            assert not got or set(got) <= dims, f"kind {kind.name!r}: {name!r} uses undeclared {set(got) - dims}"


def test_connectome_and_subjects(outputs):
    from encephagen.connectome import Connectome
    from encephagen.data.connectomes import load_subjects

    p = outputs["connectome"][0]
    c = Connectome.load(p)
    ds = _labelled(p)["/"]
    assert ds["weights"].dims == ("target", "source") and ds["lengths"].attrs["units"] == "mm"
    _same(ds["weights"], c.weights, "weights")
    _same(ds["lengths"], c.lengths, "lengths")
    for dim in ("region", "target", "source"):
        _same(ds[dim], c.labels, f"{dim} coordinate")
    # orientation: weights[target, source] selects by label
    i, j = np.argwhere(c.weights > 0)[0]
    assert float(ds["weights"].sel(target=c.labels[i], source=c.labels[j])) == c.weights[i, j]
    _same(ds["centres"], c.centres, "centres")
    _same(ds["region_class"], c.region_class, "region_class")
    s = load_subjects(ATLAS, p.parent.parent)
    ds = _labelled(outputs["connectome_subjects"][0])["/"]
    assert ds["weights"].dims == ("subject", "target", "source")
    _same(ds["subject"], s["subjects"], "subject coordinate")
    _same(ds["weights_raw"], s["weights_raw"], "weights_raw")
    _same(ds["region"], s["labels"], "region coordinate")


def test_empirical_fc(outputs):
    from encephagen.data.empirical import read_fc

    for p in outputs["empirical_fc"]:
        d = read_fc(p)
        ds = _labelled(p)["/"]
        assert ds["fc"].dims == ("region_i", "region_j")
        _same(ds["fc"], d["fc"], f"{p} fc")
        _same(ds["region_i"], d["labels"], f"{p} region_i")
        if "subject_fc" in d:
            _same(ds["subject_fc"], d["subject_fc"], f"{p} subject_fc")
            _same(ds["subject"], d["subjects"], f"{p} subject")


def test_nulls(outputs):
    from encephagen.nulls import read_nulls

    for p in outputs["nulls"]:
        b = read_nulls(p)
        ds = _labelled(p)["/"]
        assert ds["weights"].dims == ("null_index", "target", "source")
        _same(ds["weights"], b.weights, "weights")
        _same(ds["null_index"], b.null_index, "null_index coordinate")
        _same(ds["seed"], b.seed, "seed")
        _same(ds["region"], b.labels, "region coordinate")
        assert ds["pair_lengths"].attrs["units"] == "mm"


def test_runs_of_every_engine(outputs):
    """Simulation (neural mass) and spiking (LIF) files against :func:`encephagen.study.read_runs`."""
    from encephagen.study.engine import read_runs

    files = outputs["simulation"] + outputs["spiking"]
    for p, engine in zip(files, ("neural_mass", "lif")):
        with h5py.File(p, "r") as f:   # one kind for the runs of every engine
            assert (f.attrs["encephagen_kind"], f.attrs["engine"]) == ("runs", engine)
        r = read_runs(p)
        groups = _labelled(p)
        ds = groups["/"]
        B = len(r["seed"])
        _same(ds["run"], np.arange(B), f"{p} run coordinate")
        for k in ("seed_id", "seed", "G", "null_index", "family"):
            assert ds[k].dims == ("run",), (p, k, ds[k].dims)
            _same(ds[k], r[k], f"{p} {k}")
        _same(ds["region"], r["region_labels"], f"{p} region coordinate")
        mg = groups["/metrics"] if "/metrics" in groups else ds
        for m, v in r["metrics"].items():
            assert mg[m].dims == ("run", "region"), (p, m, mg[m].dims)
            _same(mg[m], v, f"{p} metric {m}")
        assert mg["acf_tau_ms"].attrs["units"] == "ms" and mg["dominant_freq_hz"].attrs["units"] == "Hz"
        _same(mg["region"], r["region_labels"], f"{p} region coordinate of the metrics group")
        fc = r["fc_activity"]
        name = "fc_activity" if "fc_activity" in ds else "fc_rate"
        assert ds[name].dims == ("run", "region_i", "region_j")
        _same(ds[name], fc, f"{p} {name}")
        _same(ds["regime_fraction"], r["regime_fraction"], f"{p} regime_fraction")
        assert list(ds["regime_name"].values) == ["fixed_point", "oscillating", "saturated", "silent", "diverged"]
    lif = _labelled(outputs["spiking"][0])["/"]
    assert lif["spectrum"].dims == ("run", "spectrum_freq", "region") and lif["rate"].attrs["units"] == "Hz"
    assert lif["pop_rate"].dims == ("run", "rate_bin", "region")


def test_hopf_sweep_and_heterogeneity(outputs):
    from encephagen.hopf.study import read_sweep

    for p in outputs["hopf_sweep"]:
        s = read_sweep(p)
        assert s["engine"] == "hopf_linear" and s["encephagen_kind"] == "runs"
        ds = _labelled(p)["/"]
        assert ds["r_test_pearson"].dims == ("null_index", "G")
        _same(ds["G"], s["G"], "G coordinate")
        _same(ds["null_index"], s["null_index"], "null_index coordinate")
        _same(ds["r_test_pearson"], s["r_test_pearson"], "r_test_pearson")
        _same(ds["fc_best"], s["fc_best"], "fc_best")
        _same(ds["region"], s["labels"], "region coordinate")
        # the best G per network, read by label from the curve
        k = int(np.argmax(s["r_train_pearson"][0])) if s["r_train_pearson"].size else None
        if k is not None and s["fit_metric"] == "pearson":
            assert float(ds["r_train_pearson"].sel(G=s["best_G"][0]).isel(null_index=0)) == s["r_train_pearson"][0, k]
    p = outputs["hopf_heterogeneity"][0]
    ds = _labelled(p)["/"]
    with h5py.File(p, "r") as f:
        assert ds["r_test"].dims == ("bias_grid", "scale_grid")
        for k in ("r_train", "r_test", "bias_grid", "scale_grid", "null_test", "t1t2"):
            _same(ds[k], f[k][()], k)
        _same(ds["region"], np.arange(len(f["t1t2"])) if "labels" not in f else
              [x.decode() for x in f["labels"][()]], "region coordinate")


def test_aggregate_store(outputs):
    from encephagen.study.engine import read_runs

    p = outputs["aggregate"][0]
    groups = _labelled(p)
    ds, reg = groups["/"], groups["/regional"]
    assert reg["mean"].dims == ("network", "seed", "param", "region")
    with h5py.File(p, "r") as f:
        _same(reg["mean"], f["regional/mean"][()], "regional/mean")
        _same(ds["fc_real"], f["fc_real"][()], "fc_real")
        assert ds["fc_real"].dims == ("seed", "param", "region_i", "region_j")
        _same(ds["seed"], f["seed_id"][()], "seed coordinate")
    # the store's real-network run equals the simulation file's
    sim = read_runs(outputs["simulation"][0])
    real = (np.asarray(sim["family"]) == "real") & (sim["seed_id"] == 1) & np.isclose(sim["G"], 0.2)
    got = reg["mean"].sel(network="real/0", seed=1).where(ds["param_G"] == 0.2, drop=True).squeeze("param")
    _same(got.astype(np.float32), sim["metrics"]["mean"][real][0].astype(np.float32), "store vs simulation")


def test_a_phony_dimension_is_caught(outputs, tmp_path):
    """The check above fails on a file whose dimension scale is missing (the defect it names)."""
    src = outputs["nulls"][0]
    bad = tmp_path / "bad.h5"
    shutil.copy(src, bad)
    with h5py.File(bad, "r+") as f:
        f["pair_lengths"].dims[0].detach_scale(f["target"])
        f["pair_lengths"].dims[1].detach_scale(f["source"])
    with pytest.raises(AssertionError, match="pair_lengths has dimensions"):
        _labelled(bad)


def test_plastic_runs(outputs):
    """The plastic engine's runs (kind 'runs', engine 'plastic_lif'): per-run, per-trial and
    per-synapse arrays on named dimensions, equal to the library reader's."""
    from encephagen.learn.engine import read_plastic

    (path,) = outputs["plastic"]
    ds = _labelled(path)
    d = read_plastic(path, weights=True)
    root = ds["/"]
    assert [str(x) for x in root["region"].values] == [str(x) for x in d["labels"]]
    _same(root["rate"].values, d["rate"], "rate")
    _same(root["plastic"].values, d["plastic"], "plastic")
    for k, v in d["trials"].items():
        assert ds["/trials"][k].dims == ("run", "trial")
        _same(ds["/trials"][k].values, v, f"trials/{k}")
    for k in ("initial", "final", "offset"):
        _same(ds["/weights"][k].values, d["weights"][k], f"weights/{k}")
    assert ds["/weights"]["initial"].attrs.get("units") == "mV"
    _same(ds["/trajectory"]["mean"].values, d["trajectory"]["mean"], "trajectory/mean")


def test_evoked_runs(outputs):
    """The evoked engine's runs (kind 'runs', engine 'evoked_lif'): per-run, per-region and
    per-trial arrays on named dimensions, equal to the library reader's."""
    from encephagen.learn.evoked import read_evoked

    (path,) = outputs["evoked"]
    ds = _labelled(path)["/"]
    d = read_evoked(path)
    assert [str(x) for x in ds["region"].values] == [str(x) for x in d["labels"]]
    for k in ("base_rate", "stim_rate", "hop", "path_length", "ffi", "stimulated"):
        _same(ds[k].values, d[k], k)
    assert ds["base_rate"].dims == ("run", "trial", "region") and ds["stim_rate"].attrs.get("units") == "Hz"


def test_embody_runs(outputs):
    """The closed loop's episodes (kind 'runs', engine 'embody'): one value per run on the 'run'
    dimension, with units, equal to the library reader's."""
    from encephagen.study.engines.embody import EPISODE_METRICS, read_embody
    from encephagen.study import read_runs

    (path,) = outputs["embody"]
    root = _labelled(path)["/"]
    d = read_embody(path)
    for k in (*EPISODE_METRICS, "seed_id", "seed", "build_seed", "null_index", "terminated", "truncated"):
        assert root[k].dims == ("run",), k
        _same(root[k].values, d[k], k)
    assert root["dx"].attrs["units"] == "m" and root["velocity"].attrs["units"] == "m/s"
    assert list(root["seed_id"].values) == [100, 101] and read_runs(path)["attrs"]["controller"] == "zero"
