"""Property panel: every null family against the real network, as a table and a figure.

Per network (the real one and each null), computed identically:

- ``density``; ``edges``; ``components`` (weakly connected, scipy); ``connected``
- ``degree_max_abs_diff``: max |k_null - k_real| over nodes (directed: in and out degree)
- ``strength_r``: Pearson r of node strengths with the real ones (directed: mean of in and out)
- ``strength_rel_err``: mean |s_null - s_real| / mean s_real
- ``weights_equal``: the sorted weight values equal the real ones (exact)
- ``clustering_bin`` / ``clustering_wei``: mean clustering coefficient (bctpy
  ``clustering_coef_bu``/``_bd`` on the binary graph; ``clustering_coef_wu``/``_wd`` on weights
  scaled by the real maximum)
- ``path_length_bin`` / ``path_length_wei``: characteristic path length, mean over connected
  pairs (scipy shortest paths; weighted lengths 1 / w with w scaled by the real maximum);
  ``unreachable_pairs`` counts the pairs left out (never averaged as infinite)
- ``richclub_phi_k``: rich-club coefficient (as bctpy ``rich_club_bu``/``_bd``, tested equal) at the real
  network's rich-club level (the level the ``richclub`` family holds), the whole curve in
  the curves table
- ``length_mean`` / ``length_median`` / ``length_ks``: edge-length distribution (edge lengths
  from the one length rule) and its Kolmogorov-Smirnov distance from the real one
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np

from encephagen.connectome import n_components
from encephagen.nulls.families import Source, rich_club_classes
from encephagen.nulls.io import NullBatch
from encephagen.nulls.lengths import edge_lengths

log = logging.getLogger(__name__)

COLUMNS = ("atlas", "family", "null_index", "status", "reason", "swaps_requested", "swaps_achieved",
           "edges", "density", "components", "connected", "degree_max_abs_diff", "strength_r",
           "strength_rel_err", "weights_equal", "clustering_bin", "clustering_wei", "path_length_bin",
           "path_length_wei", "unreachable_pairs", "richclub_phi_k", "length_mean", "length_median",
           "length_ks")


def _edges_of(W: np.ndarray, X: np.ndarray, directed: bool) -> np.ndarray:
    mask = (W != 0) if directed else np.triu(W != 0, 1)
    return X[mask]


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (the distance only; no p-value is needed)."""
    if a.size == 0 or b.size == 0:
        return float("nan")
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, x, side="right") / a.size
                        - np.searchsorted(b, x, side="right") / b.size).max())


def _path_length(W: np.ndarray, directed: bool, weighted: bool, wmax: float) -> tuple[float, int]:
    from scipy.sparse.csgraph import shortest_path

    if weighted:
        G = np.zeros_like(W)
        nz = W != 0
        G[nz] = wmax / W[nz]
        D = shortest_path(G, method="D", directed=directed)
    else:
        D = shortest_path((W != 0).astype(float), method="D", directed=directed, unweighted=True)
    off = ~np.eye(W.shape[0], dtype=bool)
    fin = np.isfinite(D) & off
    unreachable = int((~np.isfinite(D) & off).sum())
    return (float(D[fin].mean()) if fin.any() else float("nan")), unreachable


def rich_club_curve(W: np.ndarray, directed: bool, klevel: int | None = None) -> np.ndarray:
    """Binary rich-club coefficient phi(k), k = 1..klevel, as bctpy ``rich_club_bu``/``_bd``.

    phi(k) = E_k / (N_k (N_k - 1)) over the N_k nodes with degree > k (directed: in + out
    degree, E_k directed edges; undirected: E_k counts each edge twice, as bctpy). NaN where
    N_k < 2. Computed from a 2-D cumulative sum over nodes sorted by degree (O(n^2) per
    network instead of bctpy's O(klevel n^2); equal to bctpy, tested).
    """
    A = (np.asarray(W) != 0).astype(np.int64)
    deg = (A.sum(0) + A.sum(1)) if directed else A.sum(0)
    if klevel is None:
        klevel = int(deg.max())
    order = np.argsort(-deg, kind="stable")
    S = np.cumsum(np.cumsum(A[np.ix_(order, order)], 0), 1)
    ks = np.arange(1, klevel + 1)
    nk = (deg[None, :] > ks[:, None]).sum(1)
    ek = np.where(nk > 0, S[np.maximum(nk - 1, 0), np.maximum(nk - 1, 0)], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nk >= 2, ek / (nk * (nk - 1.0)), np.nan)


def network_properties(W: np.ndarray, L: np.ndarray, real_W: np.ndarray, real_L: np.ndarray,
                       directed: bool, k_level: int, klevel_max: int) -> tuple[dict, np.ndarray]:
    """Scalar properties of one network against the real one, and its rich-club curve."""
    import warnings

    import bct
    W = np.asarray(W, dtype=float)
    n = W.shape[0]
    A, A0 = W != 0, real_W != 0
    max_edges = n * (n - 1) if directed else n * (n - 1) // 2
    edges = int(A.sum() if directed else np.triu(A, 1).sum())
    if directed:
        ddiff = max(np.abs(A.sum(0) - A0.sum(0)).max(), np.abs(A.sum(1) - A0.sum(1)).max())
        r_in = np.corrcoef(W.sum(0), real_W.sum(0))[0, 1]
        r_out = np.corrcoef(W.sum(1), real_W.sum(1))[0, 1]
        sr = 0.5 * (r_in + r_out)
    else:
        ddiff = np.abs(A.sum(0) - A0.sum(0)).max()
        sr = np.corrcoef(W.sum(0), real_W.sum(0))[0, 1]
    s0 = real_W.sum(0)
    rel = float(np.abs(W.sum(0) - s0).mean() / s0.mean()) if s0.mean() > 0 else float("nan")
    wmax = float(real_W.max()) or 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if directed:
            cb = float(np.mean(bct.clustering_coef_bd(A.astype(float))))
            cw = float(np.mean(bct.clustering_coef_wd(np.clip(W / wmax, 0, 1))))
        else:
            cb = float(np.mean(bct.clustering_coef_bu(A.astype(float))))
            cw = float(np.mean(bct.clustering_coef_wu(np.clip(W / wmax, 0, 1))))
    plb, unreach = _path_length(W, directed, False, wmax)
    plw, _ = _path_length(W, directed, True, wmax)
    curve = rich_club_curve(W, directed, klevel_max)
    phi = float(curve[k_level - 1]) if 0 < k_level <= curve.size else float("nan")
    el = _edges_of(W, np.asarray(L, dtype=float), directed)
    el0 = _edges_of(real_W, np.asarray(real_L, dtype=float), directed)
    comps = n_components(W)
    props = {
        "edges": edges, "density": edges / max_edges, "components": comps, "connected": comps == 1,
        "degree_max_abs_diff": int(ddiff), "strength_r": float(sr), "strength_rel_err": rel,
        "weights_equal": bool(np.array_equal(np.sort(_edges_of(W, W, directed)),
                                             np.sort(_edges_of(real_W, real_W, directed)))),
        "clustering_bin": cb, "clustering_wei": cw, "path_length_bin": plb, "path_length_wei": plw,
        "unreachable_pairs": unreach, "richclub_phi_k": phi,
        "length_mean": float(el.mean()) if el.size else float("nan"),
        "length_median": float(np.median(el)) if el.size else float("nan"),
        "length_ks": _ks(el, el0),
    }
    return props, curve


def property_panel(batches: Sequence[NullBatch], max_per_family: int | None = None,
                   rich_fraction: float = 0.15) -> tuple[list[dict], list[dict], dict]:
    """Rows (one per network, the real one first), rich-club curve rows, and edge lengths.

    All batches must come from one source (same atlas and source matrix). The real network
    is the batches' ``source_weights`` with lengths from the same rule as the nulls.
    Skipped batches give one row per family with status 'skipped' and the reason.
    """
    if not batches:
        raise ValueError("property_panel needs at least one null batch")
    first = batches[0]
    for b in batches[1:]:
        if b.source != first.source or not np.array_equal(b.source_weights, first.source_weights):
            raise ValueError(f"{b.path}: batch from source {b.source!r} (or another source matrix) mixed "
                             f"with {first.path} ({first.source!r})")
    directed = first.directed
    real_W = first.source_weights
    real_L = edge_lengths(real_W, first.pair_lengths)
    src = Source(first.source, real_W, directed, first.pair_lengths, first.labels)
    _, rc = rich_club_classes(src, rich_fraction)
    # bctpy's curve[k - 1] is phi(k) over nodes with degree > k; the club is degree > k_level
    k_level = int(np.floor(rc["k_level"]))
    A0 = real_W != 0
    deg = (A0.sum(0) + A0.sum(1)) if directed else A0.sum(0)
    klevel_max = int(deg.max())
    rows, curves = [], []
    lengths = {"real": _edges_of(real_W, real_L, directed)}

    def add(family, idx, W, L, status="ok", reason="", req=0, ach=0):
        base = {"atlas": first.source, "family": family, "null_index": idx, "status": status, "reason": reason,
                "swaps_requested": req, "swaps_achieved": ach}
        if status != "ok":
            rows.append({c: base.get(c, "") for c in COLUMNS})
            return
        props, curve = network_properties(W, L, real_W, real_L, directed, k_level, klevel_max)
        base.update(props)
        rows.append(base)
        for k, v in enumerate(curve, start=1):
            curves.append({"atlas": first.source, "family": family, "null_index": idx, "k": k, "phi": float(v)})

    add("real", 0, real_W, real_L)
    by_family: dict[str, list[NullBatch]] = {}
    for b in batches:
        by_family.setdefault(b.family, []).append(b)
    for fam, bs in by_family.items():
        if fam == "real":
            continue
        skipped = [b for b in bs if b.skipped]
        if skipped:
            add(fam, "", None, None, status="skipped", reason=skipped[0].reason)
            continue
        done = 0
        pooled = []
        for b in sorted(bs, key=lambda b: int(b.null_index.min()) if len(b) else 0):
            for q in range(len(b)):
                if max_per_family is not None and done >= max_per_family:
                    break
                add(fam, int(b.null_index[q]), b.weights[q], b.lengths[q], req=int(b.swaps_requested[q]),
                    ach=int(b.swaps_achieved[q]))
                pooled.append(_edges_of(b.weights[q], b.lengths[q], directed))
                done += 1
        lengths[fam] = np.concatenate(pooled) if pooled else np.zeros(0)
        log.info("%s %s: properties of %d nulls", first.source, fam, done)
    return rows, curves, lengths


def summarise(rows: Sequence[Mapping]) -> list[dict]:
    """Per family: mean and sd of each numeric property, and the real value."""
    num = [c for c in COLUMNS[7:] if c not in ("connected", "weights_equal")]
    real = next(r for r in rows if r["family"] == "real")
    out = []
    fams = []
    for r in rows:
        if r["family"] not in fams:
            fams.append(r["family"])
    for fam in fams:
        rs = [r for r in rows if r["family"] == fam]
        if rs[0]["status"] != "ok":
            out.append({"family": fam, "n": 0, "status": rs[0]["status"], "reason": rs[0]["reason"]})
            continue
        rec = {"family": fam, "n": len(rs), "status": "ok", "reason": "",
               "connected_fraction": float(np.mean([bool(r["connected"]) for r in rs])),
               "weights_equal_fraction": float(np.mean([bool(r["weights_equal"]) for r in rs]))}
        for c in num:
            v = np.array([float(r[c]) for r in rs], dtype=float)
            rec[f"{c}_mean"] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
            rec[f"{c}_sd"] = float(np.nanstd(v)) if np.isfinite(v).any() else float("nan")
            rec[f"{c}_real"] = float(real[c])
        out.append(rec)
    return out


def panel_figure(rows: Sequence[Mapping], curves: Sequence[Mapping], lengths: Mapping[str, np.ndarray],
                 title: str = ""):
    """The panel figure (a matplotlib Figure; the caller saves and closes it)."""
    import textwrap
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = []
    for r in rows:
        if r["family"] != "real" and r["family"] not in fams:
            fams.append(r["family"])
    ok = [f for f in fams if any(r["family"] == f and r["status"] == "ok" for r in rows)]
    real = next(r for r in rows if r["family"] == "real")
    panels = [("degree_max_abs_diff", "max |degree change|"), ("strength_r", "strength r with real"),
              ("density", "density"), ("components", "connected components"),
              ("clustering_bin", "clustering (binary)"), ("clustering_wei", "clustering (weighted)"),
              ("path_length_bin", "char. path length (binary)"), ("path_length_wei", "char. path length (weighted)"),
              ("richclub_phi_k", "rich-club coefficient at club level")]
    fig, axes = plt.subplots(3, 4, figsize=(16, 10.5))
    axes = axes.ravel()
    cmap = plt.get_cmap("tab10")
    colour = {f: cmap(i % 10) for i, f in enumerate(fams)}
    for ax, (col, label) in zip(axes, panels):
        data = [np.array([float(r[col]) for r in rows if r["family"] == f and r["status"] == "ok"]) for f in ok]
        pos = np.arange(len(ok))
        for p, d, f in zip(pos, data, ok):
            d = d[np.isfinite(d)]
            if d.size:
                jitter = (np.random.default_rng(0).random(d.size) - 0.5) * 0.5
                ax.scatter(p + jitter, d, s=3, alpha=0.3, color=colour[f], rasterized=True)
                ax.errorbar(p, d.mean(), yerr=d.std(), fmt="o", color="k", ms=3, lw=1)
        ax.axhline(float(real[col]), color="crimson", lw=1.2, label="real")
        if not np.isfinite(float(real[col])) and not any(np.isfinite(d).any() for d in data):
            ax.text(0.5, 0.5, textwrap.fill(f"{label}: no finite value for the real network or any null "
                                            "(undefined on this connectome, e.g. a complete graph)", 40),
                    ha="center", va="center", fontsize=8, color="0.35", transform=ax.transAxes)
        ax.set_xticks(pos)
        ax.set_xticklabels(ok, rotation=40, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9)
    ax = axes[9]
    rc = {}
    for c in curves:
        rc.setdefault((c["family"], c["null_index"]), []).append(c["phi"])
    real_curve = np.array(rc.get(("real", 0), []))
    for f in ok:
        cs = [np.array(v) for (fam, _), v in rc.items() if fam == f]
        if cs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # levels no null reaches: NaN
                m = np.nanmean(np.vstack(cs), axis=0)
            ax.plot(np.arange(1, m.size + 1), m, color=colour[f], lw=1, label=f)
    if real_curve.size:
        ax.plot(np.arange(1, real_curve.size + 1), real_curve, color="crimson", lw=2, label="real")
    if not any(np.isfinite(ln.get_ydata()).any() for ln in ax.get_lines()):
        ax.text(0.5, 0.5, textwrap.fill("rich-club curve: no finite value (undefined on this connectome, "
                                        "e.g. a complete graph)", 40),
                ha="center", va="center", fontsize=8, color="0.35", transform=ax.transAxes)
    ax.set_xlabel("degree k")
    ax.set_title("rich-club curve (null means)", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[10]
    allv = np.concatenate([v for v in lengths.values() if v.size]) if lengths else np.zeros(1)
    bins = np.linspace(0, float(allv.max()) if allv.size else 1.0, 40)
    for f in ok:
        if f in lengths and lengths[f].size:
            ax.hist(lengths[f], bins=bins, density=True, histtype="step", color=colour[f], label=f)
    if "real" in lengths:
        ax.hist(lengths["real"], bins=bins, density=True, histtype="step", color="crimson", lw=2, label="real")
    ax.set_xlabel("edge length (mm)")
    ax.set_title("edge-length distribution", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[11]
    ax.axis("off")
    skipped = [r for r in rows if r["status"] == "skipped"]
    text = "\n".join(f"{r['family']}: skipped\n" + textwrap.fill(str(r["reason"]), 55, initial_indent="  ",
                                                                  subsequent_indent="  ", max_lines=3)
                     for r in skipped) or "no family skipped"
    ax.text(0, 1, text, va="top", fontsize=7, wrap=True)
    fig.suptitle(title or f"null families vs real: {real['atlas']}")
    fig.tight_layout()
    return fig
