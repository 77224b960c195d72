"""The operating point of one (atlas, model): the G grid every network of the atlas is simulated at
(the simulate stage's rule operating_point; :func:`read_grid` gives the chosen values to the
simulate_batch and figure rules).

``simulate.G`` is either a list (used as it is, in the normalised weight units of
``simulate.normalize`` x ``simulate.weight_scale``) or ``auto``. With ``auto``,
``simulate.operating_point`` places ``num`` values around the atlas's working point, found on
the nulls stage's real network (``results/nulls/atlas-X/null-real/batch-0000.h5``):

* ``placement: below`` (neural-mass models, e.g. Wilson-Cowan): a pre-sweep runs the real
  network over ``presweep`` (a fine G grid) with EXACTLY the main runs' settings and seeds
  (duration, transient, noise, seeds_per_network; the element seeds do not depend on G), so the
  real network's main runs at a chosen G are the pre-sweep's runs. Each region of each run is
  classified (:mod:`encephagen.sim.regime`); a G is admissible when no region of any seed is
  saturated, silent or diverged. The working point is the edge of that range: the last
  admissible G before the first inadmissible one, ``margin`` pre-sweep steps further down; the
  grid is it and the ``num - 1`` admissible values below it, ``ratio`` pre-sweep steps apart.
* ``placement: centred`` (the Hopf model): the working point is the analytic Hopf route's best
  training-FC G of the real network (``results/hopf/atlas-X/null-real/batch-0000.h5``); the grid
  is ``num`` values log-spaced by the factor ``ratio`` around it. The regime per G is analytic:
  the linearisation is stable (fixed point) for every G >= 0 when a < 0, and Euler-Maruyama at
  the simulation's dt is stable iff the spectral radius of I + dt J is < 1 (else 'diverged').
  The simulated model must use the analytic route's weight convention (``hopf.sc_normalisation``
  x ``hopf.sc_scale``) and its ``a``, so that one G means the same in both; refused otherwise.

The table (TSV) has one row per pre-sweep G (``source`` presweep / analytic) and per chosen G
(``chosen`` true); :func:`read_grid` returns the chosen values.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from encephagen.io.tables import write_table
from encephagen.nulls import read_nulls
from encephagen.sim import regime as rg
from encephagen.sim.models import HopfParams, ParameterError
from encephagen.study.config import presweep_grid, resolve_config, resolve_hopf, round_sig

# The simulator and the Hopf engine (torch) are imported inside the functions that run them, so that
# the figure steps reading a grid (read_grid, figure_G) stay light.

log = logging.getLogger(__name__)

COLUMNS = ["atlas", "model", "G", "source", "regime", "admissible", "chosen",
           *[f"frac_{k}" for k in rg.REGIMES], "mean_activity", "sd_activity", "r_train_analytic", "note"]


def _write(rows: list[dict], out: str | Path) -> Path:
    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = np.nan if c.startswith(("frac_", "mean_", "sd_", "r_")) else ""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_table(df[COLUMNS], out, float_format="%.10g")   # atomic (encephagen.io.tables)
    return out


def read_grid(path) -> np.ndarray:
    """The chosen G values (ascending) of an operating-point table (``chosen`` rows)."""
    t = pd.read_csv(path, sep="\t", comment="#")
    if "chosen" not in t.columns or "G" not in t.columns:
        raise ValueError(f"{path}: not an operating-point table (needs columns G and chosen)")
    g = np.unique(t.loc[t["chosen"].astype(bool), "G"].astype(float).to_numpy())
    if not g.size:
        raise ValueError(f"{path}: no chosen G value")
    return g


def figure_G(path) -> float:
    """The reference G of figures: the middle of the chosen grid."""
    g = read_grid(path)
    return float(g[len(g) // 2])


def simulated_regimes(networks_path, cfg: Mapping, G, *, master_seed: int, out_h5, threads=None) -> list[dict]:
    """Run the real network of ``networks_path`` at every G (main settings and seeds), classify."""
    from encephagen.study.engines.neural_mass import run_networks
    from encephagen.study.engines.neural_mass_io import read_simulation

    nb = read_nulls(networks_path)
    if nb.family != "real" or len(nb) != 1:
        raise ParameterError(f"{networks_path}: the operating point is found on the real network "
                             f"(family 'real', one network), got family {nb.family!r} with {len(nb)}")
    run_cfg = {**dict(cfg), "G": [float(g) for g in G]}
    run_networks(run_cfg, [(nb.source, nb.family, int(nb.null_index[0]), nb.weights[0], nb.lengths[0])], None,
                 master_seed, out_h5, region_labels=list(nb.labels),
                 provenance={"networks_file": str(networks_path), "purpose": "operating-point pre-sweep"})
    sim = read_simulation(out_h5)
    mean = sim["metrics"]["mean"]
    std = np.sqrt(np.maximum(sim["metrics"]["var"], 0.0))
    codes = np.asarray(sim["regime"])    # the simulation's own per-region regimes (encephagen.sim.regime)
    rows = []
    for g in G:
        sel = np.isclose(sim["G"], g, rtol=1e-12)
        rows += rg.summarise([g], codes[sel][None], mean[sel][None], std[sel][None])
    return rows


def hopf_analytic_regimes(C: np.ndarray, G, a: float, omega: float, dt_s: float) -> list[dict]:
    """Per G: 'fixed_point' when the linearisation is stable and Euler-Maruyama at ``dt_s`` (s)
    is stable on it (spectral radius of I + dt J < 1); 'diverged' otherwise."""
    from encephagen.hopf import linear as hl

    rows = []
    for g in G:
        J = hl.jacobian(C, float(g), a, omega)
        stable = np.linalg.eigvals(J).real.max() < 0
        em = np.abs(np.linalg.eigvals(np.eye(J.shape[0]) + dt_s * J)).max() < 1
        code = rg.CODES["fixed_point"] if (stable and em) else rg.CODES["diverged"]
        codes = np.full(C.shape[0], code)
        note = "" if stable and em else ("linearisation unstable" if not stable else
                                         f"Euler-Maruyama unstable at dt = {dt_s:g} s")
        rows.append(dict(G=float(g), regime=rg.network_regime(codes.reshape(1, -1))[0], admissible=bool(rg.admissible(codes)),
                         **{f"frac_{k}": float(v) for k, v in rg.fractions(codes).items()}, note=note))
    return rows


def check_hopf_convention(cfg: Mapping, hopf: Mapping) -> None:
    """The simulated Hopf model's weights and a must be the analytic route's, else G differs in meaning."""
    h = resolve_hopf(hopf)
    want = ("max", float(h["sc_scale"])) if h["sc_normalisation"] == "max" else ("none", 1.0)
    got = (cfg["normalize"], float(cfg["weight_scale"]))
    if got[0] != want[0] or not math.isclose(got[1], want[1], rel_tol=1e-12):
        raise ParameterError(
            f"simulate.per_model.hopf: normalize={got[0]!r}, weight_scale={got[1]:g} differ from the analytic Hopf "
            f"route's hopf.sc_normalisation={h['sc_normalisation']!r}, hopf.sc_scale={h['sc_scale']:g}: set "
            f"simulate.per_model.hopf.normalize: {want[0]} and weight_scale: {want[1]:g} so that G means the same")
    a = float(dict(cfg.get("params") or {}).get("a", HopfParams().a))   # the one Hopf parameter set
    if not math.isclose(a, float(h["a"]), rel_tol=1e-12):
        raise ParameterError(f"simulate.per_model.hopf.params.a = {a:g} differs from hopf.a = {h['a']:g} "
                             "(the analytic FC depends on G / |a|)")
    if cfg.get("velocity") is not None:
        raise ParameterError("simulate.per_model.hopf.velocity must be null (no delays) when its G is placed by the "
                             "analytic Hopf route, which has no delays")


def operating_point_file(networks_path: str | Path, out_tsv: str | Path, simulate_cfg: Mapping, *,
                         master_seed: int, out_h5: str | Path | None = None, hopf_sweep: str | Path | None = None,
                         hopf: Mapping | None = None, atlas: str | None = None, threads: int | None = None) -> Path:
    """Write the operating-point table of one (atlas, model); see the module docstring."""
    from encephagen.hopf import fit as hf
    from encephagen.hopf.study import read_sweep
    from encephagen.steps.simulate import set_threads

    set_threads(threads)
    cfg = resolve_config(simulate_cfg)
    model = cfg["model"]
    op = cfg["operating_point"]
    if out_h5 is None:
        out_h5 = Path(str(out_tsv) + ".presweep.h5")
    nb = read_nulls(networks_path)
    atlas = atlas or nb.source
    base = dict(atlas=atlas, model=model)
    if cfg["G"] != "auto":
        G = round_sig(cfg["G"]).tolist()
        rows = simulated_regimes(networks_path, cfg, G, master_seed=master_seed, out_h5=out_h5)
        rows = [{**base, **r, "source": "configured", "chosen": True,
                 "note": "" if r["admissible"] else "configured G: real network " + r["regime"]} for r in rows]
        for r in rows:
            if not r["admissible"]:
                log.warning("%s %s: configured G = %g: the real network is %s", atlas, model, r["G"], r["regime"])
        return _write(rows, out_tsv)
    if op["placement"] == "below":
        Gf = presweep_grid(op)
        rows = simulated_regimes(networks_path, cfg, Gf, master_seed=master_seed, out_h5=out_h5)
        ok = [r["admissible"] for r in rows]
        try:
            chosen = rg.choose_grid(Gf, ok, op["num"], placement="below", ratio=op["ratio"], margin=op["margin"])
        except ValueError as exc:
            raise ParameterError(f"{atlas} {model}: {exc} (simulate.operating_point)") from None
        rows = [{**base, **r, "source": "presweep", "chosen": bool(np.isclose(chosen, r["G"], rtol=1e-12).any())}
                for r in rows]
        log.info("%s %s: pre-sweep regimes %s; chosen G %s", atlas, model,
                 [(round(r["G"], 4), r["regime"]) for r in rows], np.round(chosen, 4).tolist())
        return _write(rows, out_tsv)
    # centred on the analytic Hopf route's best G
    if model != "hopf" or hopf_sweep is None:
        raise ParameterError(f"simulate.operating_point.placement 'centred' places the grid around the analytic Hopf "
                             f"route's best G: it needs model hopf and the hopf stage (got model {model!r})")
    check_hopf_convention(cfg, hopf or {})
    h = resolve_hopf(hopf)
    sw = read_sweep(hopf_sweep)
    if str(sw["family"]) != "real":
        raise ParameterError(f"{hopf_sweep}: expected the real network's analytic sweep, got family {sw['family']!r}")
    centre = float(sw["best_G"][0])
    chosen = round_sig(rg.choose_grid([], [], op["num"], placement="centred", centre=centre, ratio=op["ratio"]))
    W = nb.weights[0]
    if h["symmetrise"]:
        W = (W + W.T) / 2
    C = hf.normalise_sc(W, h["sc_normalisation"], h["sc_scale"])
    omega = float(dict(cfg["params"]).get("omega", 2 * np.pi * 0.05))
    dt_s = float(cfg["dt"]) / 1000.0
    r_train = np.asarray(sw[f"r_train_{sw['fit_metric']}"][0], dtype=float)
    Ga = np.asarray(sw["G"], dtype=float)
    rows = [{**base, **r, "source": "analytic", "chosen": False, "r_train_analytic": float(rt)}
            for r, rt in zip(hopf_analytic_regimes(C, Ga, float(h["a"]), omega, dt_s), r_train)]
    for r in hopf_analytic_regimes(C, chosen, float(h["a"]), omega, dt_s):
        if not r["admissible"]:
            raise ParameterError(f"{atlas} hopf: chosen G = {r['G']:.4g} is {r['regime']} ({r['note']}): lower "
                                 "simulate.per_model.hopf.dt or operating_point.ratio")
        rows.append({**base, **r, "source": "analytic", "chosen": False,
                     "r_train_analytic": float(np.interp(np.log(r["G"]), np.log(Ga), r_train))})
    # the real network simulated at the chosen G with the main settings and seeds: its measured regime
    sim_rows = simulated_regimes(networks_path, cfg, chosen, master_seed=master_seed, out_h5=out_h5)
    for r in sim_rows:
        if not r["admissible"]:
            raise ParameterError(f"{atlas} hopf: the simulated real network is {r['regime']} at G = {r['G']:.4g}")
        rows.append({**base, **r, "source": "simulated", "chosen": True,
                     "note": f"analytic best training G {centre:.4g} x {op['ratio']:g}^k"})
    log.info("%s hopf: analytic best G %.4g; chosen G %s", atlas, centre, np.round(chosen, 4).tolist())
    return _write(rows, out_tsv)
