"""Synthetic tidy tables with a known answer, for tests, demos and figure previews.

value = base[metric] + region_profile[metric, region] * profile_scale[family]
        + family_shift[family][metric] + network effect ~ N(0, net_sd) + seed noise ~ N(0, seed_sd)

The real network's network effect is drawn from the same N(0, net_sd) as every null's, then
``real_offset[metric]`` (in units of net_sd) is added: offset 0 means "real is a typical member
of every family whose shift is 0".
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.seeds import derive_seed, numpy_rng

CLASSES = ("sensory", "association", "limbic", "subcortical")


def make_tables(*, metrics: Sequence[str] = ("m0", "m1", "m2"), families: Sequence[str] = ("degree", "random"),
                n_nulls: int = 50, n_seeds: int = 4, n_regions: int = 0, G: Sequence[float] = (0.1,),
                real_offset: Mapping[str, float] | None = None,
                family_shift: Mapping[str, Mapping[str, float]] | None = None,
                profile_scale: Mapping[str, float] | None = None,
                net_sd: float = 1.0, seed_sd: float = 0.3, real_seeds: int | None = None,
                atlas: str = "syn20", model: str = "hopf", master_seed: int = 7) -> pd.DataFrame:
    """A network-level table (``n_regions == 0``) or a regional table (``n_regions > 0``).

    ``real_seeds`` (default ``n_seeds``) lets a test build a pseudo-replicated design.
    """
    real_offset = dict(real_offset or {})
    family_shift = {f: dict(v) for f, v in (family_shift or {}).items()}
    profile_scale = dict(profile_scale or {})
    base_rng = numpy_rng(derive_seed(master_seed, "base"))
    base = {m: float(base_rng.normal(0, 3)) for m in metrics}
    prof = {m: base_rng.normal(0, 2.0, size=max(n_regions, 1)) for m in metrics}
    rows = []
    nets = [("real", 0)] + [(f, i) for f in families for i in range(n_nulls)]
    for fam, idx in nets:
        ns = (real_seeds or n_seeds) if fam == "real" else n_seeds
        rng = numpy_rng(derive_seed(master_seed, atlas, fam, idx))
        for g in G:
            for m in metrics:
                net = rng.normal(0, net_sd) + (real_offset.get(m, 0.0) * net_sd if fam == "real" else 0.0)
                shift = family_shift.get(fam, {}).get(m, 0.0)
                scale = profile_scale.get(fam, 1.0)
                netprof = rng.normal(0, 0.3 * net_sd, size=max(n_regions, 1))
                for s in range(ns):
                    noise = rng.normal(0, seed_sd, size=max(n_regions, 1))
                    vals = base[m] + shift + net + noise + g * 0
                    if n_regions:
                        vals = vals + prof[m] * scale + netprof
                        for r in range(n_regions):
                            rows.append((atlas, model, fam, idx, s, derive_seed(master_seed, atlas, fam, idx, s),
                                         g, r, f"R{r:03d}", CLASSES[r % len(CLASSES)], m, float(vals[r])))
                    else:
                        rows.append((atlas, model, fam, idx, s, derive_seed(master_seed, atlas, fam, idx, s),
                                     g, m, float(vals[0])))
    cols = ["atlas", "model", "family", "null_index", "seed_id", "seed", "G"]
    cols += (["region", "label", "region_class"] if n_regions else []) + ["metric", "value"]
    return pd.DataFrame(rows, columns=cols)


def make_fc_sweep(*, n: int = 20, G: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5), best_G: float = 0.3,
                  families: Sequence[str] = ("degree",), n_nulls: int = 30, n_seeds: int = 3,
                  real_signal: float = 1.0, null_signal: float = 0.4, noise: float = 0.6,
                  atlas: str = "syn20", model: str = "hopf", master_seed: int = 11):
    """Simulated FC stacks over a G sweep with a known best G, and train/test empirical FCs.

    FC = tanh(signal * exp(-(G - best_G)^2 / 0.02) * S + noise * E) with one latent pattern S shared
    by the empirical train and test FCs (each with its own noise). The real network carries
    ``real_signal``, every null ``null_signal``. Returns ``(sim_fc (k, n, n), meta DataFrame,
    {'train': fc, 'test': fc})``.
    """
    rng = numpy_rng(derive_seed(master_seed, "latent"))

    def sym(a):
        a = np.triu(a, 1)
        return a + a.T

    S = sym(rng.normal(0, 1, (n, n)))
    emp = {}
    for k in ("train", "test"):
        e = np.tanh(0.5 * S + 0.5 * sym(rng.normal(0, 1, (n, n))))
        np.fill_diagonal(e, 1.0)
        emp[k] = e
    fcs, meta = [], []
    nets = [("real", 0)] + [(f, i) for f in families for i in range(n_nulls)]
    for fam, idx in nets:
        sig = real_signal if fam == "real" else null_signal
        for s in range(n_seeds):
            sd = derive_seed(master_seed, atlas, fam, idx, s)
            r = numpy_rng(sd)
            for g in G:
                a = sig * np.exp(-(g - best_G) ** 2 / 0.02)
                f = np.tanh(0.5 * a * S + noise * sym(r.normal(0, 1, (n, n))))
                np.fill_diagonal(f, 1.0)
                fcs.append(f)
                meta.append((atlas, model, fam, idx, s, sd, g))
    meta = pd.DataFrame(meta, columns=["atlas", "model", "family", "null_index", "seed_id", "seed", "G"])
    return np.array(fcs), meta, emp


def make_silencing(*, n_regions: int = 24, G: Sequence[float] = tuple(np.round(np.linspace(0.0, 1.0, 11), 2)),
                   families: Sequence[str] = ("degree", "er"), n_nulls: int = 20, n_seeds: int = 3,
                   class_g: Mapping[str, float] | None = None, shuffle_family: str = "er",
                   atlas: str = "syn20", model: str = "wc", master_seed: int = 5) -> pd.DataFrame:
    """Regional 'rate' along a G sweep: rate = 10 * (1 - G / g_c) + noise, clipped at 0, where g_c is
    the region class's critical coupling (``class_g``; default sensory 0.35, association 0.55,
    limbic 0.75, subcortical 0.95) plus a small per-region jitter. Networks of ``shuffle_family``
    get the classes' g_c in a random order (the order is destroyed); other families keep it.
    """
    class_g = dict(class_g or {"sensory": 0.35, "association": 0.55, "limbic": 0.75, "subcortical": 0.95})
    classes = list(class_g)
    rows = []
    nets = [("real", 0)] + [(f, i) for f in families for i in range(n_nulls)]
    for fam, idx in nets:
        rng = numpy_rng(derive_seed(master_seed, atlas, fam, idx))
        gc = dict(class_g)
        if fam == shuffle_family:
            vals = rng.permutation(list(class_g.values()))
            gc = dict(zip(classes, vals))
        jitter = rng.normal(0, 0.04, n_regions)
        for s in range(n_seeds):
            sd = derive_seed(master_seed, atlas, fam, idx, s)
            r = numpy_rng(sd)
            for g in G:
                for reg in range(n_regions):
                    c = classes[reg % len(classes)]
                    v = max(0.0, 10 * (1 - g / (gc[c] + jitter[reg])) + r.normal(0, 0.3))
                    rows.append((atlas, model, fam, idx, s, sd, g, reg, f"R{reg:03d}", c, "rate", v))
    return pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "seed", "G", "region",
                                       "label", "region_class", "metric", "value"])
