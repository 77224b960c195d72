"""File-level steps the workflow's scripts (and the CLI) call: one function per rule.

Each takes paths and plain config dicts, validates its inputs through :mod:`encephagen.io`,
and writes its outputs under the output contract. No Snakemake here.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io import atomic_h5, write_array
from encephagen.io.tables import write_text
from encephagen.study.config import SIM_DEFAULTS, check_simulation_config  # noqa: F401 (the workflow's check)

log = logging.getLogger(__name__)


def set_threads(threads: int | None) -> None:
    """Use exactly the cores the scheduler granted (torch would otherwise take every core)."""
    if threads:
        import torch

        torch.set_num_threads(max(1, int(threads)))


def simulate_network_file(networks_path: str | Path, out_path: str | Path, simulate_cfg: Mapping, *,
                          master_seed: int, threads: int | None = None, device: str | None = None,
                          spiking_cfg: Mapping | None = None, t1t2_path: str | Path | None = None) -> Path:
    """Simulate every network of one nulls-stage batch file (the real network's or a null batch).

    The engine is the registry's for ``simulate_cfg['model']`` (:func:`encephagen.study.engine_for_model`):
    a neural mass runs with ``simulate_cfg`` and writes a ``simulation`` file; ``lif`` runs the
    spiking engine with ``spiking_cfg`` (its config section) and writes a ``spiking`` file. All take
    the same networks and the same seed rule.

    A batch whose family was refused by the nulls stage (e.g. rewiring a complete graph) gives a
    ``simulation`` file with zero runs that carries the refusal (``status='skipped'``, ``reason``),
    so the aggregation can report the family as skipped rather than silently absent.
    """
    from encephagen.nulls import read_nulls
    from encephagen.study import engine_for_model, run_study

    set_threads(threads)
    nb = read_nulls(networks_path)
    if nb.status != "ok" or len(nb) == 0:
        return write_skipped_simulation(out_path, simulate_cfg, nb, reason=nb.reason or "empty batch")
    networks = [(nb.source, nb.family, int(nb.null_index[k]), nb.weights[k], nb.lengths[k]) for k in range(len(nb))]
    engine = engine_for_model(simulate_cfg.get("model", SIM_DEFAULTS["model"]))
    section = simulate_cfg if engine.section == "simulate" else (spiking_cfg or {})
    context = {"region_labels": list(nb.labels)}
    if t1t2_path and engine.section != "simulate":
        context["t1t2"] = t1t2_by_label(t1t2_path, nb.labels)
    return run_study(engine, section, networks, master_seed, out_path, device=device,
                     provenance={"networks_file": str(networks_path), "null_seeds": nb.seed.tolist()}, **context)


def t1t2_by_label(path: str | Path, labels: Sequence[str]) -> np.ndarray:
    """T1w/T2w values in the connectome's region order (NaN where the table has no usable value)."""
    from encephagen.io.tables import read_tsv  # names the file (a 0-byte table too)

    t = read_tsv(path, comment="#")
    v = t["t1t2"].astype(float)
    if "status" in t.columns:
        v = v.where(t["status"].eq("ok"))
    by = dict(zip(t["label"].astype(str), v))
    missing = [lab for lab in labels if lab not in by]
    if missing:
        raise ValueError(f"{path}: no T1w/T2w row for region(s) {missing[:5]}")
    return np.array([by[lab] for lab in labels], dtype=float)


def write_skipped_simulation(out_path, simulate_cfg: Mapping, nb, reason: str) -> Path:
    from encephagen.sim.runner import METRICS
    from encephagen.study.config import resolve_config

    cfg = resolve_config(simulate_cfg)
    n = nb.n
    with atomic_h5(out_path, kind="simulation", provenance={"networks_file": nb.path, "status": "skipped",
                                                             "reason": reason}) as f:
        for name in ("atlas", "family"):
            write_array(f, name, np.array([], dtype=str))
        for name in ("null_index", "seed_id", "seed"):
            write_array(f, name, np.zeros(0, dtype=np.int64))
        for name in ("G", "noise"):
            write_array(f, name, np.zeros(0))
        f.create_group("params")
        mg = f.create_group("metrics")
        for m in METRICS:
            write_array(mg, m, np.zeros((0, n)))
        from encephagen.sim.regime import write_regimes

        write_regimes(f, np.zeros((0, n), dtype=np.int8))
        f.attrs.update({"model": cfg["model"], "n": n, "dt": float(cfg["dt"]), "duration": float(cfg["duration"]),
                        "transient": float(cfg["transient"]), "integrator": cfg["integrator"],
                        "dtype": cfg["dtype"], "device": "none", "velocity": -1.0, "max_delay_steps": 0,
                        "monitor": "{}", "config": "{}", "region_labels": "[]", "status": "skipped",
                        "reason": reason, "skipped_family": nb.family})
    log.warning("%s: family %s skipped by the nulls stage: %s", out_path, nb.family, reason)
    return Path(out_path)


def aggregate_files(sim_paths: Sequence[str | Path], connectome_path: str | Path, *, out_store, out_network,
                    out_regional, empirical_paths: Mapping[str, str | Path] | None = None,
                    expected_nulls: Mapping[str, int] | None = None, allow_missing: bool = False,
                    skipped_out: str | Path | None = None) -> dict:
    """Aggregate one (atlas, model); skipped families are listed (never silently absent)."""
    import h5py
    import pandas as pd

    from encephagen.aggregate import aggregate
    from encephagen.connectome import Connectome
    from encephagen.data.empirical import read_fc
    from encephagen.io import validate_many

    from encephagen.study.engine import register_kinds

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
        from encephagen.analysis.run import write_table

        write_table(pd.DataFrame(skipped, columns=["family", "file", "reason"]), skipped_out)
    return res


def baselines_for(connectome_path: str | Path, fc_path: str | Path) -> dict:
    """SC-only baselines of the atlas's own SC against an empirical FC (the held-out group's):
    Pearson/Spearman of raw and log SC vs FC over the upper triangle. A model fit must beat these.
    ``connectome_path``: the nulls stage's real network (kind 'nulls', family 'real': the network
    the models ran on) or a connectome file (then put through the same transform, no threshold)."""
    import h5py

    from encephagen.data.empirical import read_fc, sc_fc_baseline

    with h5py.File(connectome_path, "r") as f:
        kind = f.attrs.get("encephagen_kind", "")
    if kind == "nulls":
        from encephagen.nulls import read_nulls

        nb = read_nulls(connectome_path)
        if nb.family != "real":
            raise ValueError(f"{connectome_path}: SC baselines need the real network, got family {nb.family!r}")
        w = nb.weights[0]
    else:
        from encephagen.sim.batch import real_network

        w = real_network(connectome_path).weights
    # the one baseline row of the sc_fc_baselines stage (encephagen.data.empirical.sc_fc_baseline)
    b = sc_fc_baseline(w, read_fc(fc_path)["fc"])
    return {"raw_pearson": b["pearson_raw"], "raw_spearman": b["spearman_raw"], "log_pearson": b["pearson_log10"],
            "log_spearman": b["spearman_log10"]}


def write_description(description_path: str | Path, methods_path: str | Path, config: Mapping,
                      connectome_paths: Sequence[str | Path]) -> None:
    """``dataset_description.json`` (resolved config, package versions, git commit, data checksums,
    the seed rule, the connectomes' provenance) and the generated methods paragraph."""
    import json

    from encephagen.analysis.methods import methods_paragraph
    from encephagen.connectome import Connectome
    from encephagen.data.fetch import read_manifest
    from encephagen.io import config_hash, provenance

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
        write_text(path, text)   # atomic


def real_fc_at_best(store_path: str | Path, fit_networks: str | Path) -> tuple[np.ndarray, str]:
    """The real network's simulated FC (mean over its seeds) at the G chosen on the training group."""
    import pandas as pd

    from encephagen.io import open_validated

    per = pd.read_csv(fit_networks, sep="\t")
    real = per[per["family"] == "real"]
    if real.empty:
        raise ValueError(f"{fit_networks}: no real network row")
    g = float(real["best_G"].iloc[0])
    with open_validated(store_path, "aggregate") as f:
        Gs = f["param_G"][()]
        j = int(np.argmin(np.abs(Gs - g)))
        fc = np.nanmean(f["fc_real"][:, j], axis=0)
        model = str(f.attrs["model"])
        src = str(f.attrs.get("fc_source", "bold"))
    what = {"bold": "BOLD FC", "activity": "FC of activity", "rate": "FC of the population rate"}.get(src, "FC")
    return fc, f"real network, {model}, simulated {what} at G = {g:.3g} (chosen on the training group)"
