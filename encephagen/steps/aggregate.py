"""The aggregate stage's steps: aggregation of run files into one validated store plus tidy tables
(rule aggregate_sims: :func:`aggregate_files`, :func:`aggregate`), the SC-only baselines of the FC fit
(rule fit_fc: :func:`baselines_for`) and the run's description and methods paragraph (rule
write_provenance: :func:`write_description`).

Inputs are the ``simulation`` (or ``spiking``) files of one (atlas, model): the real network's and every null
batch's. Every file is validated first (a missing, partial, foreign or malformed file is refused
and named). The design is then checked: every network (real and each null) must have the same
set of (seed id, parameter set) runs as the real network -- never a silent mean over fewer runs.
With ``allow_missing=True`` the missing runs are listed in the output (``missing_runs``
attribute and table) instead of raising; the statistics then see exactly what exists.

Which FC. With BOLD on (``monitors.bold``) every file must carry ``fc_bold``: a file without it is
refused, naming it (never a silent fall-back to the FC of activity for one network). With BOLD off
for the whole run every network uses the FC of activity (the spiking engine: of the population
rate); the choice is recorded (``fc_source`` column of the network table, store attribute).
Files that disagree (BOLD on in one, off in another) are refused.

Regimes (:mod:`encephagen.sim.regime`). Every run's regions carry a regime (fixed_point,
oscillating, saturated, silent, diverged); the tables get

- network table: ``network_regime`` (the run's label: a regime of > 1/2 of the regions,
  'diverged' if any region diverged, else 'mixed') and ``regime_frac_<regime>`` (fraction of
  regions in each regime), on every row of the run;
- regional table: ``regime`` (the region's) and ``network_regime`` (the run's).

so that the statistics can flag or exclude a saturated or silent real network. These are
identifier columns (encephagen.analysis.tables), never parameters.

Outputs
-------
- ``network`` table (one row per network x seed x parameter set x metric): FC summaries,
  and simulated-vs-empirical FC similarity (``fc_<measure>_vs_<dataset>``, see
  :func:`encephagen.analysis.fc.similarity_table`).
- ``regional`` table (one row per network x seed x parameter set x region x metric), with
  ``label`` and ``region_class`` from the connectome.
- ``store`` HDF5 (kind ``aggregate``): regional metrics (group ``regional``) and the regime codes
  (``regime``, int8, -1 = no run) as labelled arrays with named dimensions
  ``(network, seed, param, region)`` (HDF5 dimension scales: the 1-D datasets ``network``,
  ``seed`` (the seed ids), ``param`` and ``region``; readable lazily by h5py and by xarray's
  h5netcdf engine), each run's simulation seed ``run_seed`` (network, seed, param), the real
  network's FC per (seed, param), each family's mean FC per param, and the empirical FCs used.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import h5py
import numpy as np
import pandas as pd

from encephagen.analysis.fc import similarity_table
from encephagen.analysis.methods import methods_paragraph
from encephagen.analysis.run import write_table
from encephagen.connectome import Connectome
from encephagen.data.empirical import read_fc, sc_fc_baseline
from encephagen.data.fetch import read_manifest
from encephagen.io import OutputError, atomic_h5, config_hash, provenance, validate_many, write_array
from encephagen.io import kinds as _kinds
from encephagen.io.tables import write_text
from encephagen.nulls import read_nulls
from encephagen.sim.regime import LEGEND, REGIMES, network_regime
from encephagen.steps.networks import file_kind, real_network
from encephagen.study.engine import read_runs as _read_runs
from encephagen.study.engine import register_kinds

log = logging.getLogger(__name__)

AGGREGATE_KIND = _kinds.AGGREGATE   # declared once in encephagen/io/kinds.py

REAL = "real"


class DesignError(OutputError):
    """Runs are missing or duplicated; the message lists exactly which."""


def _param_frame(sim: dict) -> pd.DataFrame:
    """Per-element parameter columns: G plus every scalar parameter that varies in this file."""
    cols = {"G": np.asarray(sim["G"], dtype=float)}
    for k, v in sim["params"].items():
        v = np.asarray(v)
        if v.ndim == 1 and v.size == len(cols["G"]) and np.unique(v).size > 1:
            cols[k] = v.astype(float)
    return pd.DataFrame(cols)


def _meta(sim: dict, model: str) -> pd.DataFrame:
    meta = pd.DataFrame({
        "atlas": sim["atlas"].astype(str), "model": model, "family": sim["family"].astype(str),
        "null_index": np.asarray(sim["null_index"], dtype=np.int64),
        "seed_id": np.asarray(sim["seed_id"], dtype=np.int64), "seed": np.asarray(sim["seed"], dtype=np.int64),
    })
    return pd.concat([meta, _param_frame(sim)], axis=1)


def read_runs(path) -> dict:
    """A ``simulation`` (neural mass), ``spiking`` (LIF) or any registered engine's file in one common
    form (:func:`encephagen.study.read_runs`; the engine is the registry's for the file's kind)."""
    return _read_runs(path)


def _fc_choice(path, sim: dict) -> tuple[str, np.ndarray | None]:
    """(fc_source, FC) of one file: 'bold' when BOLD was on (fc_bold required, else refused naming
    the file), else the FC of activity ('activity' / 'rate'), or 'none' when neither was computed."""
    if sim["bold_on"]:
        if sim.get("fc_bold") is None:
            raise OutputError(f"{path}: BOLD was on (monitors.bold) but the file has no 'fc_bold'; refusing to "
                              f"fall back to the FC of {sim['activity_name']} for one network (re-run it)")
        return "bold", sim["fc_bold"]
    if sim.get("fc_activity") is not None:
        return sim["activity_name"], sim["fc_activity"]
    return "none", None


def check_design(meta: pd.DataFrame, pcols: Sequence[str]) -> pd.DataFrame:
    """Missing runs: every network must have the real network's (seed_id, params) set.

    Returns a table of missing (family, null_index, seed_id, params) rows; raises on duplicates.
    """
    run = ["family", "null_index", "seed_id", *pcols]
    dup = meta.duplicated(run, keep=False)
    if dup.any():
        raise DesignError(f"{int(dup.sum())} duplicated runs (the same network, seed and parameters in two "
                          f"files), e.g. {meta.loc[dup, run].iloc[0].to_dict()}")
    real = meta[meta["family"] == REAL]
    if real.empty:
        raise DesignError("the real network's runs are missing (family 'real')")
    want = set(map(tuple, real[["seed_id", *pcols]].to_numpy().tolist()))
    missing = []
    for (fam, idx), g in meta.groupby(["family", "null_index"], sort=True):
        have = set(map(tuple, g[["seed_id", *pcols]].to_numpy().tolist()))
        for key in sorted(want - have):
            missing.append({"family": fam, "null_index": idx, **dict(zip(["seed_id", *pcols], key))})
        extra = have - want
        if extra:
            raise DesignError(f"network {fam}/{idx} has runs the real network lacks (seed_id, params): "
                              f"{sorted(extra)[:5]} -- real and nulls must get the same treatment")
    return pd.DataFrame(missing, columns=["family", "null_index", "seed_id", *pcols])


def aggregate(sim_paths: Sequence[str | Path], *, connectome, empirical: Mapping[str, np.ndarray] | None = None,
              out_store: str | Path, out_network: str | Path, out_regional: str | Path,
              expected_nulls: Mapping[str, int] | None = None, allow_missing: bool = False,
              provenance: Mapping | None = None) -> dict:
    """Aggregate the ``simulation`` files of one (atlas, model); see the module docstring.

    ``connectome``: the real :class:`~encephagen.connectome.Connectome` (labels, region classes).
    ``expected_nulls``: family -> number of nulls that
    must be present (from the config); fewer is a missing-run error naming the family.
    """
    paths = [Path(p) for p in sim_paths]
    register_kinds(paths)   # every engine's kind (and layout check) is known before the validation
    validate_many(paths)
    empirical = dict(empirical or {})
    labels = list(connectome.labels)
    classes = list(connectome.region_class)
    n = len(labels)
    metas, regional_arrays, fcs, model, sources, regimes = [], {}, [], None, {}, []
    for p in paths:
        sim = read_runs(p)
        m = str(sim["attrs"]["model"])
        if model is None:
            model = m
        elif m != model:
            raise OutputError(f"{p}: model {m!r}, the other inputs are {model!r}")
        if sim["region_labels"] and list(sim["region_labels"]) != labels:
            raise OutputError(f"{p}: region labels differ from connectome {connectome.name!r}")
        meta = _meta(sim, m)
        meta["_file"] = str(p)
        metas.append(meta)
        for k, v in sim["metrics"].items():
            regional_arrays.setdefault(k, []).append(np.asarray(v, dtype=float))
        src, f_ = _fc_choice(p, sim)
        sources.setdefault(src, []).append(str(p))
        fcs.append(f_)
        regimes.append(_regimes_of(p, sim, len(meta), n))
    if len(sources) > 1:
        raise OutputError("the inputs disagree on the FC they carry (BOLD on in some, off in others): "
                          + "; ".join(f"{k}: {v[:3]}" for k, v in sorted(sources.items()))
                          + " -- every network must get the same treatment")
    fc_source = next(iter(sources)) if sources else "none"
    meta = pd.concat(metas, ignore_index=True)
    pcols = [c for c in meta.columns if c not in ("atlas", "model", "family", "null_index", "seed_id", "seed", "_file")]
    missing = check_design(meta, pcols)
    if expected_nulls:
        have = meta[meta["family"] != REAL].groupby("family")["null_index"].nunique().to_dict()
        for fam, k in expected_nulls.items():
            if have.get(fam, 0) < k:
                got = set(meta.loc[meta["family"] == fam, "null_index"].unique())
                for idx in sorted(set(range(k)) - got):
                    missing = pd.concat([missing, pd.DataFrame([{"family": fam, "null_index": idx}])],
                                        ignore_index=True)
    if len(missing) and not allow_missing:
        raise DesignError(f"{len(missing)} runs missing (refusing a silent mean over fewer runs); first: "
                          f"{missing.head(10).to_dict('records')}")
    regional = {k: np.concatenate(v, axis=0) for k, v in regional_arrays.items()}
    fc = np.concatenate(fcs, axis=0) if fcs and all(f is not None for f in fcs) else None
    base = meta.drop(columns=["_file"])
    codes = np.concatenate(regimes, axis=0) if regimes else np.zeros((0, n), dtype=np.int8)
    names = np.asarray(REGIMES, dtype=object)
    run_info = pd.DataFrame({"network_regime": _network_labels(codes), "fc_source": fc_source})
    for i, r in enumerate(REGIMES):
        run_info[f"regime_frac_{r}"] = (codes == i).mean(axis=1) if n else np.nan
    base_net = pd.concat([base, run_info], axis=1)

    # ---------------------------------------------------------------- network-level table
    parts = []
    if fc is not None:
        iu = np.triu_indices(n, 1)
        up = fc[:, iu[0], iu[1]].astype(float)
        parts.append(base_net.assign(metric="fc_mean", value=np.nanmean(up, axis=1)))
        parts.append(base_net.assign(metric="fc_sd", value=np.nanstd(up, axis=1)))
        if empirical:
            parts.append(similarity_table(fc, base_net, empirical))
    network = (pd.concat(parts, ignore_index=True) if parts
               else base_net.iloc[:0].assign(metric=pd.Series(dtype=str), value=pd.Series(dtype=float)))

    # ---------------------------------------------------------------- regional table
    rparts = []
    region = np.arange(n)
    for k, arr in regional.items():
        df = base.loc[base.index.repeat(n)].reset_index(drop=True)
        df["region"] = np.tile(region, len(base))
        df["label"] = np.tile(np.asarray(labels, dtype=object), len(base))
        df["region_class"] = np.tile(np.asarray(classes, dtype=object), len(base))
        df["regime"] = names[codes.reshape(-1)] if codes.size else np.array([], dtype=object)
        df["network_regime"] = np.repeat(run_info["network_regime"].to_numpy(), n)
        df["metric"] = k
        df["value"] = arr.reshape(-1)
        rparts.append(df)
    regional_tab = pd.concat(rparts, ignore_index=True)

    _write_tables(network, out_network)
    _write_tables(regional_tab, out_regional)
    _write_store(out_store, base, pcols, regional, fc, labels, classes, empirical, missing, model,
                 connectome.name, provenance, codes=codes, fc_source=fc_source)
    log.info("aggregated %d runs of %d networks from %d files (%d missing runs recorded; FC of %s)", len(base),
             base.groupby(["family", "null_index"]).ngroups, len(paths), len(missing), fc_source)
    bad = base_net[(base["family"] == REAL).to_numpy() & run_info["network_regime"].isin(["saturated", "silent",
                                                                                          "diverged"]).to_numpy()]
    for _, row in bad.iterrows():
        log.warning("the real network is %s at %s (seed_id %s): see the network_regime column",
                    row["network_regime"], ", ".join(f"{c}={row[c]}" for c in pcols), row["seed_id"])
    return {"runs": len(base), "missing": missing, "fc_source": fc_source}


def _regimes_of(path, sim: dict, runs: int, n: int) -> np.ndarray:
    """(runs, n) int8 regime codes of one file; a file without them is refused, naming it."""
    r = sim.get("regime")
    if r is None:
        raise OutputError(f"{path}: no 'regime' dataset (written by an older encephagen; re-run the simulation)")
    r = np.asarray(r, dtype=np.int8)
    if r.shape != (runs, n):
        raise OutputError(f"{path}: 'regime' has shape {r.shape}, expected {(runs, n)}")
    return r


def _network_labels(codes: np.ndarray) -> list[str]:
    return network_regime(codes) if len(codes) else []


def _write_tables(df: pd.DataFrame, path: str | Path) -> None:
    write_table(df, path)


def _write_store(path, base: pd.DataFrame, pcols, regional, fc, labels, classes, empirical, missing, model,
                 atlas, provenance, codes=None, fc_source: str = "none") -> None:
    nets = base[["family", "null_index"]].drop_duplicates().sort_values(
        ["family", "null_index"], key=lambda s: s.map(lambda v: (v != REAL, v)) if s.name == "family" else s)
    nets = nets.reset_index(drop=True)
    seeds = np.sort(base["seed_id"].unique())
    params = base[pcols].drop_duplicates().sort_values(pcols).reset_index(drop=True)
    ni = {k: i for i, k in enumerate(map(tuple, nets.to_numpy().tolist()))}
    si = {int(s): i for i, s in enumerate(seeds)}
    pi = {k: i for i, k in enumerate(map(tuple, params.to_numpy().tolist()))}
    idx_n = np.array([ni[(f, i)] for f, i in zip(base["family"], base["null_index"])])
    idx_s = np.array([si[int(s)] for s in base["seed_id"]])
    idx_p = np.array([pi[k] for k in map(tuple, base[pcols].to_numpy().tolist())])
    n = len(labels)
    shape = (len(nets), len(seeds), len(params), n)
    with atomic_h5(path, kind="aggregate", provenance=provenance) as f:
        f.attrs.update({"atlas": atlas, "model": model, "n_networks": len(nets), "n_seeds": len(seeds),
                        "n_params": len(params), "param_columns": ",".join(pcols),
                        "n_missing_runs": int(len(missing)), "fc_source": fc_source})
        dims = {"network": len(nets), "seed": len(seeds), "param": len(params), "region": n}
        write_array(f, "network_family", nets["family"].to_numpy().astype(str))
        write_array(f, "network_null_index", nets["null_index"].to_numpy().astype(np.int64))
        write_array(f, "network", np.array([f"{a}/{b}" for a, b in nets.to_numpy()], dtype=str))
        write_array(f, "seed_id", seeds.astype(np.int64))
        write_array(f, "seed", seeds.astype(np.int64))       # the 'seed' dimension's scale: seed ids
        write_array(f, "param", np.arange(len(params)))
        for c in pcols:
            write_array(f, f"param_{c}", params[c].to_numpy(dtype=float))
        if "param_G" not in f:
            write_array(f, "param_G", np.full(len(params), np.nan))
        write_array(f, "region", np.arange(n))
        write_array(f, "region_label", np.array(labels, dtype=str))
        write_array(f, "region_class", np.array(classes, dtype=str))
        scales = {}
        for d in dims:
            f[d].make_scale(d)
            scales[d] = f[d]

        def labelled(g, name, arr, **kw):
            ds = write_array(g, name, arr, **kw)
            ds.attrs["dims"] = ",".join(list(dims)[:arr.ndim])
            for axis, d in enumerate(list(dims)[:arr.ndim]):
                ds.dims[axis].attach_scale(scales[d])
            return ds

        # each run's simulation seed (a variable on (network, seed, param), never a dimension scale)
        seed_arr = np.full(shape[:3], -1, dtype=np.int64)
        seed_arr[idx_n, idx_s, idx_p] = base["seed"].to_numpy()
        labelled(f, "run_seed", seed_arr)
        if codes is not None:
            reg = np.full(shape, -1, dtype=np.int8)
            reg[idx_n, idx_s, idx_p] = codes
            labelled(f, "regime", reg, compress=True).attrs["legend"] = LEGEND
        g = f.create_group("regional")
        for k, arr in regional.items():
            full = np.full(shape, np.nan, dtype=np.float32)
            full[idx_n, idx_s, idx_p] = arr
            labelled(g, k, full, compress=True)
        if fc is not None:
            real = (base["family"] == REAL).to_numpy()
            rfc = np.full((len(seeds), len(params), n, n), np.nan, dtype=np.float32)
            rfc[idx_s[real], idx_p[real]] = fc[real]
            write_array(f, "fc_real", rfc, compress=True).attrs["dims"] = "seed,param,region,region"
            fams = sorted(set(base["family"]) - {REAL})
            fam_fc = np.full((len(fams), len(params), n, n), np.nan, dtype=np.float32)
            for j, fam in enumerate(fams):
                sel = (base["family"] == fam).to_numpy()
                for p in range(len(params)):
                    s = sel & (idx_p == p)
                    if s.any():
                        fam_fc[j, p] = np.nanmean(fc[s], axis=0)
            write_array(f, "fc_family_mean", fam_fc, compress=True).attrs["dims"] = "family,param,region,region"
            write_array(f, "families", np.array(fams, dtype=str))
        eg = f.create_group("empirical_fc")
        for name, m in empirical.items():
            write_array(eg, name, np.asarray(m, dtype=np.float32))
        if len(missing):
            write_array(f, "missing_runs", missing.astype(str).to_numpy().astype(str))
            f["missing_runs"].attrs["columns"] = ",".join(missing.columns)


def aggregate_files(sim_paths: Sequence[str | Path], connectome_path: str | Path, *, out_store, out_network,
                    out_regional, empirical_paths: Mapping[str, str | Path] | None = None,
                    expected_nulls: Mapping[str, int] | None = None, allow_missing: bool = False,
                    skipped_out: str | Path | None = None) -> dict:
    """Aggregate one (atlas, model); skipped families are listed (never silently absent)."""
    register_kinds(sim_paths)   # the simulation kinds' layout checks run in the validation below
    validate_many(sim_paths)
    keep, skipped = [], []
    for p in sim_paths:
        with h5py.File(p, "r") as f:
            if f.attrs.get("status", "ok") == "skipped":
                skipped.append({"family": str(f.attrs["skipped_family"]), "file": str(p),
                                "reason": str(f.attrs["reason"])})
            else:
                keep.append(p)
    skipped_fams = {s["family"] for s in skipped}
    expected = {k: v for k, v in (expected_nulls or {}).items() if k not in skipped_fams}
    emp = {name: read_fc(path)["fc"] for name, path in (empirical_paths or {}).items()}
    con = Connectome.load(connectome_path)
    res = aggregate(keep, connectome=con, empirical=emp, out_store=out_store, out_network=out_network,
                    out_regional=out_regional, expected_nulls=expected, allow_missing=allow_missing,
                    provenance={"skipped_families": skipped})
    if skipped_out is not None:
        write_table(pd.DataFrame(skipped, columns=["family", "file", "reason"]), skipped_out)
    return res


def baselines_for(connectome_path: str | Path, fc_path: str | Path) -> dict:
    """SC-only baselines of the atlas's own SC against an empirical FC (the held-out group's):
    Pearson/Spearman of raw and log SC vs FC over the upper triangle. A model fit must beat these.
    ``connectome_path``: the nulls stage's real network (kind 'nulls', family 'real': the network
    the models ran on) or a connectome file (then put through the same transform, no threshold)."""
    if file_kind(connectome_path) == "nulls":
        nb = read_nulls(connectome_path)
        if nb.family != "real":
            raise ValueError(f"{connectome_path}: SC baselines need the real network, got family {nb.family!r}")
        w = nb.weights[0]
    else:
        w = real_network(connectome_path).weights
    # the one baseline row of the sc_fc_baselines stage (encephagen.data.empirical.sc_fc_baseline)
    b = sc_fc_baseline(w, read_fc(fc_path)["fc"])
    return {"raw_pearson": b["pearson_raw"], "raw_spearman": b["spearman_raw"], "log_pearson": b["pearson_log10"],
            "log_spearman": b["spearman_log10"]}


def write_description(description_path: str | Path, methods_path: str | Path, config: Mapping,
                      connectome_paths: Sequence[str | Path]) -> None:
    """``dataset_description.json`` (resolved config, package versions, git commit, data checksums,
    the seed rule, the connectomes' provenance) and the generated methods paragraph."""
    cons = {}
    for p in connectome_paths:
        c = Connectome.load(p)
        cons[c.name] = {"weight_kind": c.weight_kind, "lengths_source": c.lengths_source, "licence": c.licence,
                        "citation": c.citation, "directed": c.directed, "n_regions": c.n,
                        "provenance": dict(c.provenance)}
    manifest = {path: {"package": s.package, "version": s.version, "sha256": s.sha256}
                for path, s in read_manifest().items()}
    desc = provenance({
        "name": "encephagen results", "config": dict(config), "config_sha256": config_hash(config),
        "seed_rule": "seed = derive_seed(master_seed, atlas, family, null_index, seed_id) "
                     "(numpy SeedSequence; see encephagen.seeds)",
        "connectomes": cons, "data_sources": manifest,
    })
    for path, text in ((Path(description_path), json.dumps(desc, indent=2, sort_keys=True, default=str) + "\n"),
                       (Path(methods_path), methods_paragraph(config, provenance=desc) + "\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
