"""The `fit` workflow stage's logic, arrays in and tables out (the workflow scripts read and write files).

One configuration (config section ``fit``, resolved by the schema) drives:

* :func:`stage_maps`: the regional maps a parameter space may name: ``t1t2`` (given), ``fc_gradient1..3``
  (principal gradients of the TRAINING FC only), networks ``yeo7`` (from Schaefer labels, where they parse);
* :func:`fit_batch`: every network of one batch (the real connectome, or the nulls of one family) fitted
  with the SAME space, objective, optimiser, budget and seed (:func:`encephagen.fit.api.fit_networks`),
  scored on the held-out FC, with the SC-only baselines beside; one row per network;
* ``fit.score_fcd.enabled``: each fitted network's optimum is also SIMULATED (the Hopf model at BOLD time
  scales, :func:`encephagen.fit.simulated.simulated_scores`: ``runs`` runs of ``seconds`` in one batch, the
  optimiser seed) and scored on the training and held-out FC and FCD (:func:`fcd_values` of the FC files):
  columns ``sim_train_fc_r``, ``sim_test_fc_r`` (run-averaged FC), ``train_fcd_ks``, ``test_fcd_ks``; a fit made
  under ``fit.max_rate_ratio`` is moved to the linear regime first (:func:`score_fcd`; ``sim_fastest_rate``
  is the time scale chosen on the training FC and FCD);
* :func:`compare`: real vs each null family's fitted scores per score column: n, mean, sd, z, empirical
  +1-corrected p (one-sided: the real fits better), Benjamini-Hochberg q over all rows of the table;
* :func:`figure`: held-out r of the real network against each family's fitted nulls, with the SC-only
  baselines of both.

Seed rule: the optimiser seed is one number per atlas (``fit.optimiser.seed``, or
``derive_seed(master_seed, 'fit', atlas)``), the same for the real network and every null.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from encephagen.analysis.stats import bh_fdr
from encephagen.fit.api import fit_networks, topology_comparison
from encephagen.fit.maps import fc_gradient, schaefer_networks
from encephagen.fit.models import AnalyticHopf
from encephagen.fit.objectives import Objective, Target
from encephagen.fit.simulated import dt_for_rate, hopf_bold_model, linear_regime, simulated_scores
from encephagen.fit.space import FitError, space_from_spec
from encephagen.hopf import fit as hf
from encephagen.seeds import derive_seed

__all__ = ["stage_seed", "stage_maps", "fit_batch", "compare", "figure", "fcd_values", "score_fcd",
           "stiffness_steps", "SCORES", "ROW_COLUMNS"]

# score columns compared real vs nulls (greater is better for each)
SCORES = ("test_fc_r", "train_fc_r", "test_sc_log_r")
ROW_COLUMNS = ("atlas", "family", "null_index", "network", "status", "seed", "G", "train_cost", "train_fc_r",
               "test_fc_r", "train_fcd_ks", "test_fcd_ks", "train_sc_raw_r", "train_sc_log_r", "test_sc_raw_r",
               "test_sc_log_r", "sim_train_fc_r", "sim_test_fc_r", "sim_runs", "sim_seconds",
               "sim_steps_per_tr", "sim_fastest_rate", "n_evaluations", "cpu_seconds", "optimiser", "values", "reason")


def stage_seed(cfg: Mapping, master_seed: int, atlas: str) -> int:
    """The optimiser seed of an atlas: ``fit.optimiser.seed`` or ``derive_seed(master_seed, 'fit', atlas)``."""
    s = cfg["optimiser"].get("seed")
    return int(s) if s is not None else derive_seed(int(master_seed), "fit", str(atlas))


def stage_maps(fc_train, t1t2=None, labels: Sequence[str] = ()) -> tuple[dict, dict]:
    """(maps, networks) a space may refer to: ``t1t2`` (if given), ``fc_gradient1..3`` of the TRAINING FC,
    and ``yeo7`` networks when the labels are Schaefer labels."""
    maps = {}
    if t1t2 is not None:
        maps["t1t2"] = np.asarray(t1t2, dtype=float)
    g = fc_gradient(np.asarray(fc_train, dtype=float), 3)
    maps.update({f"fc_gradient{k + 1}": g[k] for k in range(3)})
    networks = {}
    try:
        networks["yeo7"] = schaefer_networks(labels) if len(labels) else None
    except FitError:
        pass
    return maps, {k: v for k, v in networks.items() if v is not None}


def _model_factory(cfg: Mapping):
    if cfg["model"] != "hopf_linear":
        raise FitError(f"fit.model: the stage fits 'hopf_linear', got {cfg['model']!r}")

    def make(w):
        W = np.asarray(w, dtype=float)
        if cfg["symmetrise"]:
            W = (W + W.T) / 2
        return AnalyticHopf(hf.normalise_sc(W, cfg["sc_normalisation"], cfg["sc_scale"]),
                            max_rate_ratio=cfg.get("max_rate_ratio"))
    return make


def fcd_values(fc_file: Mapping, name: str = "FC file") -> np.ndarray:
    """The empirical FCD values of an ``empirical_fc`` file (:func:`encephagen.data.empirical.read_fc`'s dict):
    the shipped pooled lower triangle ``fcd_tril`` (cuBNM, Schaefer-100), else the upper triangles of every
    subject's FCD matrix ``fcd`` (S, w, w) pooled (hcp80, gw80)."""
    if fc_file.get("fcd_tril") is not None:
        v = np.asarray(fc_file["fcd_tril"], dtype=float).ravel()
    elif fc_file.get("fcd") is not None:
        D = np.asarray(fc_file["fcd"], dtype=float)
        D = D[None] if D.ndim == 2 else D
        if D.ndim != 3 or D.shape[1] != D.shape[2]:
            raise FitError(f"{name}: 'fcd' must be (subjects, windows, windows), got {D.shape}")
        iu = np.triu_indices(D.shape[1], 1)
        v = np.concatenate([d[iu] for d in D])
    else:
        raise FitError(f"{name}: no FCD ('fcd_tril' or 'fcd') for fit.score_fcd")
    v = v[np.isfinite(v)]
    if not v.size:
        raise FitError(f"{name}: the FCD has no finite value")
    return v


def stiffness_steps(C, params: Mapping, tr_ms: float, accuracy: float) -> int:
    """Integration steps per TR so that ``rate * dt <= accuracy`` for the fastest local rate of the Hopf
    model at ``params`` ({'G', 'a', 'sigma'}; C (n, n)): ``max|a| + 2 G max_j s_j`` (the linear part; the
    diffusive coupling's eigenvalues lie in [0, 2 G s_max]) ``+ 3 max sigma`` (the cubic term at the
    noise-driven amplitude x^2 ~ sigma of a node at a = 0). Fitted optima can be stiff: a regional ``a`` of
    -0.02 e^{+-9} spans 1/s to 1e-6/s, which Euler at 90 ms does not survive."""
    C = np.asarray(C, dtype=float)
    rate = (float(np.max(np.abs(params["a"]))) + 2.0 * float(params["G"]) * float(C.sum(1).max())
            + 3.0 * float(np.max(params["sigma"])))
    return int(np.ceil(tr_ms / 1000.0 * rate / float(accuracy)))


def _too_stiff(sim_cfg: Mapping, targets, steps: int, **extra) -> dict:
    nan = {"fc_r": np.nan, "fc_r_single": np.nan, "fcd_ks": np.nan, "n_fcd_values": 0}
    return {"runs": int(sim_cfg["runs"]), "diverged": 0, "steps_per_tr": steps, **extra,
            **{t.name: dict(nan) for t in targets},
            "reason": f"too stiff to simulate: {steps} steps per TR needed > fit.score_fcd.max_steps_per_tr "
                      f"{int(sim_cfg['max_steps_per_tr'])}"}


def _simulate(model: AnalyticHopf, C, G: float, reg: Mapping, targets, sim_cfg: Mapping, seed: int, steps: int,
              transient_s: float) -> dict:
    tr = float(sim_cfg["tr_ms"])
    sim = hopf_bold_model(C, duration_ms=float(sim_cfg["seconds"]) * 1000.0, transient_ms=transient_s * 1000.0,
                          dt=tr / steps, tr_ms=tr, sigma=model.defaults["sigma"],
                          a=model.defaults["a"], omega=model.defaults["omega"], fcd_window=int(sim_cfg["window"]),
                          fcd_step=int(sim_cfg["step"]))
    out = simulated_scores(sim, float(G), reg, targets, runs=int(sim_cfg["runs"]), seed=int(seed))
    out["steps_per_tr"] = steps
    out["reason"] = f"{out['diverged']} of {out['runs']} simulated runs diverged" if out["diverged"] else ""
    return out


def score_fcd(model: AnalyticHopf, params: Mapping, targets: Sequence[Target], sim_cfg: Mapping, seed: int) -> dict:
    """Simulate the analytic Hopf optimum ``params`` ({'G', 'a', 'sigma'}) with the Hopf model at BOLD time
    scales (``sim_cfg``: the ``fit.score_fcd`` section) on the model's coupling matrix and score it
    (:func:`encephagen.fit.simulated.simulated_scores`).

    * A model fitted under ``max_rate_ratio`` (``model.max_rate_ratio`` set) is first moved to the simulable,
      linear regime with its analytic FC unchanged (:func:`encephagen.fit.simulated.linear_regime`:
      ``linearity``; time scale: each of ``fastest_rates`` (1/s) is simulated and the one with the lowest
      ``1 - r + KS`` on the target named 'train' (else the first target) is kept); dt from
      :func:`encephagen.fit.simulated.dt_for_rate` (``dt_accuracy`` for the fastest and the slowest mode,
      rotation included; at least ``steps_per_tr`` steps), transient
      at least 5 slowest time constants. Adds 'fastest_rate', 'time_scale', 'noise_scale' and 'tried' (the
      training cost of every rate).
    * Otherwise the optimum is simulated as fitted: steps per TR ``steps_per_tr`` or more, as
      :func:`stiffness_steps` asks (``dt_accuracy``).

    Above ``max_steps_per_tr`` nothing is simulated and the scores are NaN with ``reason`` saying why. Adds
    'steps_per_tr' and 'reason'."""
    tr = float(sim_cfg["tr_ms"])
    C = model.C.cpu().numpy()
    full = {"G": float(params["G"]), **{k: np.broadcast_to(np.asarray(params.get(k, model.defaults[k]), float),
                                                           (C.shape[0],)) for k in ("a", "sigma")}}
    if model.max_rate_ratio is not None:
        return _score_linear_regime(model, C, full, targets, sim_cfg, seed)
    steps = max(int(sim_cfg["steps_per_tr"]), stiffness_steps(C, full, tr, float(sim_cfg["dt_accuracy"])))
    if steps > int(sim_cfg["max_steps_per_tr"]):
        return _too_stiff(sim_cfg, targets, steps)
    reg = {k: np.asarray(v, dtype=float) for k, v in params.items() if k != "G"}
    out = _simulate(model, C, float(params["G"]), reg, targets, sim_cfg, seed, steps,
                    float(sim_cfg["transient_seconds"]))
    out["fastest_rate"] = np.nan
    return out


def _score_linear_regime(model: AnalyticHopf, C, full: Mapping, targets, sim_cfg: Mapping, seed: int) -> dict:
    tr = float(sim_cfg["tr_ms"])
    rates = [float(x) for x in sim_cfg.get("fastest_rates") or ()]
    if not rates:
        raise FitError("fit.score_fcd.fastest_rates: give at least one time scale (fastest rate, 1/s) to simulate "
                       "a fit made under fit.max_rate_ratio")
    train = next((t for t in targets if t.name == "train"), targets[0])
    best, tried = None, {}
    for fr in rates:
        lr = linear_regime(C, full["G"], {"a": full["a"], "sigma": full["sigma"]}, fastest_rate=fr,
                           linearity=float(sim_cfg["linearity"]), a=model.defaults["a"], sigma=model.defaults["sigma"])
        steps = int(round(tr / dt_for_rate(lr["fastest_rate"], tr, accuracy=float(sim_cfg["dt_accuracy"]),
                                           min_steps=int(sim_cfg["steps_per_tr"]), slowest_rate=lr["slowest_rate"],
                                           omega=model.defaults["omega"])))
        extra = {"fastest_rate": fr, "time_scale": lr["time_scale"], "noise_scale": lr["noise_scale"]}
        if steps > int(sim_cfg["max_steps_per_tr"]):
            out = _too_stiff(sim_cfg, targets, steps, **extra)
        else:
            out = _simulate(model, C, lr["G"], {"a": lr["a"], "sigma": lr["sigma"]}, targets, sim_cfg, seed, steps,
                            max(float(sim_cfg["transient_seconds"]), 5.0 / lr["slowest_rate"]))
            out.update(extra)
        cost = 1.0 - out[train.name]["fc_r"] + (out[train.name]["fcd_ks"] if train.fcd is not None else 0.0)
        tried[fr] = float(cost)
        if best is None or (np.isfinite(cost) and not cost >= best[0]):
            best = (cost, out)
    out = best[1]
    out["tried"] = tried
    return out


def fit_batch(weights, *, fc_train, fc_test, cfg: Mapping, seed: int, atlas: str, family: str, null_index,
              t1t2=None, labels: Sequence[str] = (), progress=None, fcd_train=None, fcd_test=None) -> list[dict]:
    """Fit every network ``weights`` (k, n, n) of one batch the same way; rows of :data:`ROW_COLUMNS`.
    With ``cfg['score_fcd']['enabled']`` each optimum is simulated and scored on FC and FCD (``fcd_train``,
    ``fcd_test``: the empirical FCD values, :func:`fcd_values`)."""
    W = np.asarray(weights, dtype=float)
    if W.ndim != 3:
        raise FitError(f"weights must be (k, n, n), got {W.shape}")
    n = W.shape[-1]
    for name, F in (("training", fc_train), ("held-out", fc_test)):
        if np.asarray(F).shape != (n, n):
            raise FitError(f"the {name} FC is {np.asarray(F).shape}, the networks have {n} regions")
    if not len(W):
        return []
    maps, networks = stage_maps(fc_train, t1t2, labels)
    make = _model_factory(cfg)
    spec = {"G": list(cfg["space"]["G"]), "heterogeneity": list(cfg["space"]["heterogeneity"])}
    try:
        space = space_from_spec(n, spec, maps, networks, base=make(W[0]).defaults)
    except FitError as exc:
        raise FitError(f"fit.space: {exc}") from None
    o = cfg["optimiser"]
    train = Objective(Target(fc_train, name="train"), w_fc=float(cfg["objective"]["w_fc"]), w_fcd=0.0)
    rows = fit_networks(W, make, space, train, Target(fc_test, name="test"), seeds=[int(seed)] * len(W),
                        labels=[f"{family}-{int(i)}" for i in null_index], progress=progress,
                        optimiser=o["method"], popsize=int(o["popsize"]), generations=int(o["generations"]),
                        sigma0=float(o["sigma0"]), grid_num=int(o["grid_num"]))
    sim_cfg = dict(cfg.get("score_fcd") or {})
    if sim_cfg.get("enabled"):
        if fcd_train is None or fcd_test is None:
            raise FitError("fit.score_fcd.enabled needs the training and held-out FCD (fcd_train, fcd_test)")
        targets = [Target(fc_train, fcd=fcd_train, name="train"), Target(fc_test, fcd=fcd_test, name="test")]
    out = []
    for w, r, i in zip(W, rows, null_index):
        row = {k: r.get(k, np.nan) for k in ROW_COLUMNS}
        row.update(atlas=atlas, family=family, null_index=int(i), status="ok", seed=int(seed), reason="",
                   values=";".join(f"{k}={v:.6g}" for k, v in r["values"].items()))
        if sim_cfg.get("enabled"):
            p = space.decode(np.asarray(r["theta"])[None])
            sc = score_fcd(make(w), {k: v[0] for k, v in p.items()}, targets, sim_cfg, seed)
            row.update(sim_train_fc_r=sc["train"]["fc_r"], sim_test_fc_r=sc["test"]["fc_r"],
                       train_fcd_ks=sc["train"]["fcd_ks"], test_fcd_ks=sc["test"]["fcd_ks"], sim_runs=sc["runs"],
                       sim_seconds=float(sim_cfg["seconds"]), sim_steps_per_tr=sc["steps_per_tr"],
                       sim_fastest_rate=sc.get("fastest_rate", np.nan),
                       reason=sc["reason"])
        out.append(row)
    return out


def compare(rows: Sequence[Mapping], *, fdr_alpha: float = 0.05, min_nulls: int = 1,
            scores: Sequence[str] = SCORES) -> list[dict]:
    """Real vs nulls per (atlas, family, score): the fitted scores of the real network against its nulls'
    (:func:`encephagen.fit.api.topology_comparison`), q over every row (BH). A family with fewer than
    ``min_nulls`` fitted nulls gets no p (``excluded_reason`` says why)."""
    by = {}
    for r in rows:
        by.setdefault(r["atlas"], {}).setdefault(r["family"], []).append(r)
    out = []
    for atlas, fams in by.items():
        real = fams.get("real", [])
        if len(real) != 1:
            raise FitError(f"atlas {atlas!r}: expected one real network row, got {len(real)}")
        for family in sorted(f for f in fams if f != "real"):
            nulls = [r for r in fams[family] if r.get("status", "ok") == "ok"]
            for s in scores:
                c = topology_comparison(real[0][s], [r[s] for r in nulls])
                row = {"atlas": atlas, "family": family, "score": s, **c, "excluded_reason": ""}
                if len(nulls) < min_nulls:
                    row["p"] = np.nan
                    row["excluded_reason"] = f"{len(nulls)} nulls < analysis.min_nulls_per_family {min_nulls}"
                out.append(row)
    q, rej = bh_fdr([r["p"] for r in out], fdr_alpha)
    for r, qq, rr in zip(out, q, rej):
        r["q"], r["significant"] = float(qq), bool(rr)
    return out


def figure(rows: Sequence[Mapping], atlas: str, *, train: str = "", test: str = ""):
    """Held-out r of the fitted real network (red) vs the fitted nulls of each family (points and box), with
    the SC-only log baseline of the real network (dashed) and of each null (grey crosses). A matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["atlas"] == atlas]
    real = [r for r in rows if r["family"] == "real"]
    fams = sorted({r["family"] for r in rows} - {"real"})
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * max(1, len(fams)), 3.6))
    rng = np.random.default_rng(0)   # jitter only
    for j, f in enumerate(fams):
        v = np.array([r["test_fc_r"] for r in rows if r["family"] == f and r.get("status", "ok") == "ok"], float)
        b = np.array([r["test_sc_log_r"] for r in rows if r["family"] == f and r.get("status", "ok") == "ok"], float)
        if v.size:
            ax.boxplot(v[np.isfinite(v)], positions=[j], widths=0.5, showfliers=False)
            ax.plot(j + rng.uniform(-0.15, 0.15, v.size), v, ".", color="0.3", ms=3)
            ax.plot(np.full(b.size, j + 0.35), b, "x", color="0.6", ms=3)
    if real:
        ax.axhline(real[0]["test_fc_r"], color="C3", lw=2, label=f"real, fitted ({real[0]['test_fc_r']:.3f})")
        ax.axhline(real[0]["test_sc_log_r"], color="C3", ls="--", lw=1,
                   label=f"real, SC-only log ({real[0]['test_sc_log_r']:.3f})")
    ax.set_xticks(range(len(fams)), fams, rotation=30)
    ax.set_xlim(-0.7, max(1, len(fams)) - 0.3)
    ax.set_ylabel("held-out FC r")
    ax.set_title(f"{atlas}: fitted on {train or 'train'}, scored on {test or 'test'}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
