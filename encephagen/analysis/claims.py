"""The predecessor's claims, one row each (issue 21): tables in, rows out. No files here.

Each ``claim*`` function takes the tables a study wrote (network statistics, class summaries,
T1w/T2w correlations, silencing order, learning / embodiment / evoked tests) and returns one
:class:`ClaimRow`: the predecessor's evidence, our test, an effect size with its interval, the FDR q
and a verdict. The file handling (which results directory holds which table, the resolved config
recorded in ``results/dataset_description.json``) is :mod:`encephagen.steps.claims`.

Verdict rules (tested in tests/test_claims.py):

* **underpowered at this size** whenever the design cannot reach FDR significance for the test the
  claim rests on: the smallest attainable p (permutation: 1/(N+1) with N nulls; exact sign flip over
  n seeds: 2/2^n two-sided; exact permutation of k groups: 1/k!) times the number of tests in its
  Benjamini-Hochberg family exceeds alpha (an isolated effect could never pass BH). Such a design
  never gives "supported", whatever its q.
* **supported**: the design can reach significance, q <= alpha and the effect has the claimed sign;
* **not supported**: the design can reach significance and q > alpha or the sign is the opposite
  (or what the claim needs, e.g. a silencing order, does not occur in the swept range);
* **pending**: the stage or study that tests the claim has not run (the row says what to run).

Claim 4 (opposite hierarchies) is a question, not a claim: its verdict is **explained** (the sweep
shows the sign of each model's hierarchy and where it flips) or **left open**.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sstats

from encephagen.analysis.stats import bh_fdr

__all__ = [
    "ALPHA", "VERDICTS", "ClaimRow", "Resolution", "permutation_resolution", "signflip_resolution",
    "order_resolution", "verdict", "standardised_interval", "group_means", "order_test",
    "PREDECESSOR", "PREDECESSOR_ORDER_RATE", "PREDECESSOR_ORDER_SILENCING", "claim_vs_nulls",
    "profile_test", "claim1_tests", "claim1_resolution", "claim1_decomposition", "claim2_silencing", "claim3_spiking", "hierarchy_sweep", "claim4_opposite",
    "claim5_learning", "claim6_fc", "claim7_evoked", "claim8_cognitive", "pending_row", "not_run_row", "NOT_RUN",
    "COGNITION_COLUMNS", "claims_html", "rows_table",
    "claims_markdown",
]

ALPHA = 0.05
SUPPORTED, NOT_SUPPORTED, UNDERPOWERED, PENDING = "supported", "not supported", "underpowered at this size", "pending"
NOT_RUN = "not run in this configuration"
EXPLAINED, LEFT_OPEN = "explained", "left open"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, UNDERPOWERED, PENDING, NOT_RUN, EXPLAINED, LEFT_OPEN)

# The predecessor's evidence, as issue 21 states it.
PREDECESSOR = {
    "1": ("Two-level decomposition: the degree sequence explains the regional hierarchy, the specific wiring explains FC",
          "WC, tvb96, G = 0.01, 15 nulls per type: 24 degree-driven metrics, 11 wiring-driven, all FC"),
    "2": ("Silencing order as coupling rises: thalamus and motor, then hippocampus and sensory, other cortex, "
          "prefrontal; basal ganglia never", "WC, tvb96, G 0.015-0.05"),
    "3": ("The spiking hierarchy matches biology: sensory > thalamus > motor > basal ganglia > prefrontal",
          "LIF 200 per region, 12.4 Hz sensory to 7.5 Hz prefrontal; tau-rate r = -0.45, identical for connectome and random"),
    "4": ("Wilson-Cowan and spiking models give opposite hierarchies on the same connectome",
          "unexplained; no operating-point sweep"),
    "5": ("STDP habituation; e-prop conditioning advantage of the connectome; no structural advantage for embodied control",
          "habituation -0.80 Hz (n = 1); conditioning p = 0.011; embodiment 0/5 significant"),
    "6": ("Simulated FC matches empirical FC", "r = 0.42 in-sample from 10 ms rates, below SC alone (0.445), no nulls"),
    "7": ('The "dMRI wall": a visual stimulus does not propagate beyond visual cortex',
          "+10-12 % in visual regions, 0 % elsewhere at gc 5-10; FFI prevents saturation, not the block (FC-FC 0.30)"),
    "8": ("Cognitive functions from structure (working memory, pattern recognition, conditioning advantage)",
          "75 % prefrontal persistence with NMDA; 56 % at 5 classes; conditioning p = 0.011; 0 of 33 experiments structural"),
}

# region classes (encephagen/data/tables) grouped as the predecessor named them
SENSORY = ("visual", "auditory", "somatosensory")
PREDECESSOR_ORDER_RATE = {   # claim 3: rate, highest first
    "sensory": SENSORY, "thalamus": ("thalamus",), "motor": ("motor", "premotor"),
    "basal_ganglia": ("basal_ganglia",), "prefrontal": ("prefrontal",),
}
PREDECESSOR_ORDER_SILENCING = {   # claim 2: silenced first first (basal ganglia: never)
    "thalamus+motor": ("thalamus", "motor"), "hippocampus+sensory": ("hippocampal",) + SENSORY,
    "other cortex": ("premotor", "parietal", "temporal", "cingulate", "insula", "orbitofrontal", "temporal_pole"),
    "prefrontal": ("prefrontal",),
}


# ----------------------------------------------------------------------------- rows and verdicts
@dataclass
class ClaimRow:
    claim: str
    title: str
    predecessor: str
    test: str = ""
    effect: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    effect_label: str = ""
    q: float = math.nan
    verdict: str = PENDING
    figure: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


@dataclass(frozen=True)
class Resolution:
    """What a design can resolve: ``p_floor`` (smallest attainable p), ``n_tests`` in the BH family."""
    p_floor: float
    n_tests: int
    alpha: float = ALPHA
    kind: str = "permutation"

    @property
    def q_floor_single(self) -> float:
        """The smallest BH q an isolated effect can get: p_floor x n_tests (capped at 1)."""
        return min(1.0, self.p_floor * max(1, int(self.n_tests)))

    @property
    def powered(self) -> bool:
        return bool(np.isfinite(self.p_floor)) and self.q_floor_single <= self.alpha

    def reason(self) -> str:
        return (f"smallest attainable p {self.p_floor:.3g} ({self.kind}) x {int(self.n_tests)} test(s) in the "
                f"FDR family = {self.q_floor_single:.3g} {'<=' if self.powered else '>'} alpha {self.alpha:g}")


def permutation_resolution(n_nulls: int, n_tests: int = 1, alpha: float = ALPHA) -> Resolution:
    """+1-corrected permutation p against ``n_nulls`` nulls: p_floor = 1/(N+1)."""
    n = int(n_nulls)
    if n < 0:
        raise ValueError(f"n_nulls must be >= 0, got {n_nulls}")
    return Resolution(1.0 / (n + 1), int(n_tests), alpha, f"1/({n}+1) nulls")


def signflip_resolution(n_seeds: int, n_tests: int = 1, alpha: float = ALPHA, two_sided: bool = True) -> Resolution:
    """Exact paired sign-flip test over ``n_seeds``: p_floor = 2/2^n two-sided (1/2^n one-sided)."""
    n = int(n_seeds)
    if n < 1:
        return Resolution(1.0, int(n_tests), alpha, "sign flip over 0 seeds")
    return Resolution(min(1.0, (2.0 if two_sided else 1.0) / 2.0 ** n), int(n_tests), alpha, f"exact sign flip, {n} seeds")


def order_resolution(n_groups: int, n_tests: int = 1, alpha: float = ALPHA) -> Resolution:
    """Exact permutation test of an order of ``n_groups`` groups (one-sided): p_floor = 1/k!."""
    k = int(n_groups)
    return Resolution(1.0 / math.factorial(max(k, 1)) if k >= 2 else 1.0, int(n_tests), alpha,
                      f"exact permutation of {k} groups")


def verdict(q: float, direction_ok: bool | None, resolution: Resolution) -> tuple[str, str]:
    """(verdict, reason) by the rules of the module docstring."""
    if not resolution.powered:
        return UNDERPOWERED, resolution.reason()
    if q is None or not np.isfinite(q):
        return NOT_SUPPORTED, "no test (q undefined); " + resolution.reason()
    if q <= resolution.alpha and direction_ok:
        return SUPPORTED, f"q {q:.3g} <= {resolution.alpha:g}, claimed sign"
    if q <= resolution.alpha:
        return NOT_SUPPORTED, f"q {q:.3g} <= {resolution.alpha:g} but the opposite sign"
    return NOT_SUPPORTED, f"q {q:.3g} > {resolution.alpha:g} (the design could reach significance)"


def standardised_interval(z: float, n_nulls: int, level: float = 0.95) -> tuple[float, float]:
    """Approximate interval of a standardised difference z = (real - null mean)/null sd estimated
    from N nulls: se = sqrt(1/N + z^2 / (2 (N - 1))) (large-sample; the real value taken as fixed)."""
    if not np.isfinite(z) or n_nulls < 2:
        return math.nan, math.nan
    se = math.sqrt(1.0 / n_nulls + z * z / (2.0 * (n_nulls - 1)))
    h = sstats.norm.ppf(0.5 + level / 2) * se
    return z - h, z + h


def _num(x, default=math.nan) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v


# ----------------------------------------------------------------------------- group orders
def group_means(class_means: Mapping[str, float], class_sizes: Mapping[str, float] | None,
                groups: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Region-weighted mean of the class means within each group (groups with no class present: left out)."""
    out = {}
    for g, classes in groups.items():
        vals = [(float(class_means[c]), float((class_sizes or {}).get(c, 1.0))) for c in classes if c in class_means]
        vals = [(v, w) for v, w in vals if not np.isnan(v)]
        if vals:
            v, w = np.array(vals).T
            out[g] = float(np.sum(v * w) / np.sum(w)) if np.isfinite(v).all() else float(np.mean(v))
    return out


def order_test(values: Mapping[str, float], expected: Sequence[str], *, descending: bool = True) -> dict:
    """Kendall tau-b between observed group values and an expected order (``expected[0]`` highest when
    ``descending``), with the exact one-sided permutation p over every assignment of the values to
    the groups (P(tau >= observed)); groups missing from ``values`` are left out."""
    names = [g for g in expected if g in values and not np.isnan(values[g])]
    k = len(names)
    if k < 3:
        return {"tau": math.nan, "p": math.nan, "n_groups": k, "groups": names}
    exp_rank = np.arange(k, 0, -1) if descending else np.arange(1, k + 1)   # expected: larger value first
    obs = np.array([values[g] for g in names], dtype=float)

    def tau(v):
        t = sstats.kendalltau(v, exp_rank).statistic
        return -1.0 if np.isnan(t) else float(t)   # all ties: no order

    t_obs = tau(obs)
    perms = [tau(obs[list(p)]) for p in itertools.permutations(range(k))]
    p = float(np.mean(np.array(perms) >= t_obs - 1e-12))
    return {"tau": t_obs, "p": p, "n_groups": k, "groups": names}


# ----------------------------------------------------------------------------- generic real-vs-nulls row
def claim_vs_nulls(stats: pd.DataFrame, metric: str, *, family: str | None = None, expect: str = "differ",
                   alpha: float = ALPHA, q_col: str = "q", p_col: str = "p_two") -> dict:
    """The real network against one null family on one metric of a statistics table (the
    ``network_stats.tsv`` of docs/statistics.md: ``metric``, ``family``, ``z``, ``q``, ``p_floor``,
    ``n_tests_fdr``, ``n_nulls``). ``expect``: greater | less | differ (the claimed sign). Several
    parameter sets: the row with the smallest q. Returns effect z with its interval, q, verdict."""
    if expect not in ("greater", "less", "differ"):
        raise ValueError(f"expect must be greater, less or differ, got {expect!r}")
    sub = stats[stats["metric"] == metric]
    if family is not None:
        sub = sub[sub["family"] == family]
    if sub.empty:
        raise ValueError(f"claim_vs_nulls: no row for metric {metric!r}" + (f", family {family!r}" if family else ""))
    sub = sub.assign(_q=pd.to_numeric(sub[q_col], errors="coerce")).sort_values("_q", na_position="last")
    r = sub.iloc[0]
    n_nulls = int(_num(r.get("n_nulls", r.get("n_reference", np.nan)), 0) or 0)
    if "p_floor" in r and np.isfinite(_num(r["p_floor"])):
        p_floor = _num(r["p_floor"])
    else:
        p_floor = 1.0 / (n_nulls + 1)
    n_tests = int(_num(r.get("n_tests_fdr", np.nan), 1) or 1)
    res = Resolution(p_floor, n_tests, alpha, f"1/({n_nulls}+1) nulls" if n_nulls else "permutation")
    z = _num(r.get("z"))
    q = _num(r["_q"])
    ok = {"greater": z > 0, "less": z < 0, "differ": np.isfinite(z)}[expect]
    v, why = verdict(q, bool(ok), res)
    lo, hi = standardised_interval(z, n_nulls)
    return {"effect": z, "ci_low": lo, "ci_high": hi, "q": q, "verdict": v, "reason": why, "resolution": res,
            "row": r.drop(labels="_q")}


# ----------------------------------------------------------------------------- the claims
def _test_string(cfg: Mapping | None, model: str, extra: str = "") -> str:
    if not cfg:
        return extra
    nul = cfg.get("nulls", {})
    fams = list(nul.get("families", []))
    n = nul.get("n_per_family")
    sim = cfg.get("simulate", {})
    sim = {**sim, **(sim.get("per_model") or {}).get(model, {})}   # the model's own settings win
    if model == "lif":
        sp = cfg.get("spiking", {})
        G = sp.get("G")
        seeds = sp.get("seeds_per_network", sim.get("seeds_per_network"))
        dur = sp.get("duration")
    else:
        G = sim.get("G")
        seeds = sim.get("seeds_per_network")
        dur = sim.get("duration")
    gtxt = ("auto" if G == "auto" else (f"{min(G):g}-{max(G):g} ({len(G)} values)" if isinstance(G, list) and len(G) > 1
                                        else str(G)))
    atl = ",".join(cfg.get("atlases", []))
    s = f"{model}, {atl}, {len(fams)} x {n} nulls ({', '.join(fams)}), {seeds} seed(s) per network, G {gtxt}"
    if isinstance(dur, (int, float)):
        s += f", {dur / 1000:g} s" if dur >= 10000 else f", {dur:g} ms"
    return s + (f"; {extra}" if extra else "")


def _row(claim: str, **kw) -> ClaimRow:
    title, pred = PREDECESSOR[claim]
    return ClaimRow(claim=claim, title=title, predecessor=pred, **kw)


def pending_row(claim: str, what: str) -> ClaimRow:
    return _row(claim, verdict=PENDING, note=what)


HIERARCHY_METRICS = ("mean", "var", "acf_tau_ms", "dominant_freq_hz", "rate", "cv_isi", "fano")
CLAIM1_WC_METRICS = ("mean", "var", "acf_tau_ms", "dominant_freq_hz")   # the Wilson-Cowan hierarchy metrics
FC_PROFILE = "fc_pattern"   # claim 1's FC "metric": the upper triangle of the network's FC matrix


def _rank_profiles(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (regions or region pairs); +inf (censored high) ranks top."""
    return sstats.rankdata(x, axis=-1)


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (broadcast); NaN where a side is constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / np.where(den > 0, den, 1.0), np.nan)


def profile_test(real: np.ndarray, nulls: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict:
    """Claim 1's test of one (metric, null family), the network as the unit, regions pooled.

    ``real``: the real network's profile (parameter sets x regions, seed means); ``nulls``: the N
    null networks' (N x parameter sets x regions). Profiles are ranked across regions (Spearman; a
    censored +inf ranks top); a region undefined (NaN) in any network at a parameter set is left out
    there. Two numbers, averaged over parameter sets:

    * **agreement** A = corr(real ranks, mean of the N nulls' ranks): how much of the real network's
      regional profile the family reproduces (1 = all of it), with a percentile bootstrap interval
      over the null networks (``n_boot`` resamples of the N nulls, ``seed``). An equivalence-type
      effect: "the family reproduces the profile" needs its lower bound >= a stated minimum, never
      merely a non-significant difference.
    * **atypicality** T_k = 1 - corr(ranks_k, mean ranks of the other N networks) for each of the
      N + 1 pooled networks (the real one and every null); p = (1 + #{nulls with T >= T_real}) /
      (N + 1), exact under exchangeability of the real network with the family (a symmetric
      leave-one-out centroid). Small p: the real profile is further from the family's typical profile
      than the family's own members are (the family does not reproduce it). Floor 1/(N+1).
    """
    real = np.asarray(real, dtype=float)
    nulls = np.asarray(nulls, dtype=float)
    if real.ndim == 1:
        real = real[None]
    if nulls.ndim == 2:
        nulls = nulls[:, None]
    n = nulls.shape[0]
    if nulls.shape[1:] != real.shape:
        raise ValueError(f"profile_test: nulls {nulls.shape} do not match the real profile {real.shape}")
    if n < 2:
        raise ValueError(f"profile_test: {n} null network(s); at least 2 are needed")
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=int(n_boot)).astype(float) / n   # (B, N) weights
    a_g, t_g, boot_g, n_reg = [], [], [], []
    for g in range(real.shape[0]):
        pooled = np.concatenate([real[g][None], nulls[:, g]], axis=0)   # (N+1, R)
        keep = ~np.isnan(pooled).any(axis=0)
        if keep.sum() < 3:
            continue
        r = _rank_profiles(pooled[:, keep])
        total = r.sum(axis=0)
        loo = (total[None] - r) / n                      # each network's centroid of the other N
        t_g.append(1.0 - _row_corr(r, loo))
        cen = r[1:].mean(axis=0)
        a_g.append(float(_row_corr(r[0], cen)))
        boot_g.append(_row_corr(r[0][None], counts @ r[1:]))
        n_reg.append(int(keep.sum()))
    if not a_g:
        return {"agreement": math.nan, "ci_low": math.nan, "ci_high": math.nan, "t_real": math.nan,
                "t_null_median": math.nan, "p_atypical": math.nan, "n_nulls": n, "n_regions": 0,
                "p_floor": 1.0 / (n + 1), "n_params": 0}
    t = np.nanmean(np.array(t_g), axis=0)               # (N+1,)
    boot = np.nanmean(np.array(boot_g), axis=0)         # (B,)
    lo, hi = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    t_real, t_null = t[0], t[1:]
    p = (1.0 + np.sum(t_null >= t_real - 1e-12)) / (n + 1.0)
    return {"agreement": float(np.mean(a_g)), "ci_low": float(lo), "ci_high": float(hi), "t_real": float(t_real),
            "t_null_median": float(np.median(t_null)), "p_atypical": float(p), "n_nulls": n,
            "n_regions": int(min(n_reg)), "p_floor": 1.0 / (n + 1), "n_params": len(a_g)}


def claim1_tests(profiles: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]], *, n_boot: int = 1000,
                 seed: int = 0, alpha: float = ALPHA) -> pd.DataFrame:
    """Claim 1's family of tests: one :func:`profile_test` per (metric, null family), BH over the
    whole table (the claim's FDR family: metrics x families, tens of tests, never metrics x regions).
    ``profiles``: metric -> (real profile, {family: null profiles}); metric ``fc_pattern`` is the FC
    part (kind fc), every other one a regional-hierarchy metric (kind hierarchy)."""
    rows = []
    for i, (metric, (real, fams)) in enumerate(profiles.items()):
        for j, (family, nulls) in enumerate(fams.items()):
            r = profile_test(real, nulls, n_boot=n_boot, seed=int(seed) + 1000 * i + j)
            rows.append({"metric": metric, "kind": "fc" if metric == FC_PROFILE else "hierarchy",
                         "family": family, **r})
    t = pd.DataFrame(rows)
    if t.empty:
        return t
    q, _ = bh_fdr(t["p_atypical"].to_numpy(float), alpha)
    t["q_atypical"] = q
    t["n_tests_fdr"] = int(np.isfinite(t["p_atypical"].to_numpy(float)).sum())
    return t


def claim1_resolution(n_nulls: int, n_metrics: int, n_families: int, alpha: float = ALPHA) -> Resolution:
    """What claim 1's design can resolve: N nulls per family, a BH family of metrics x families tests
    (e.g. 4 hierarchy metrics + the FC pattern, 4 families: 20 tests; 1,000 nulls: 20/1001 = 0.02 <=
    0.05, powered; 200 nulls: 0.0995, underpowered for an isolated effect)."""
    return permutation_resolution(n_nulls, int(n_metrics) * int(n_families), alpha)


def claim1_decomposition(tests: pd.DataFrame, *, cfg: Mapping | None = None, alpha: float = ALPHA,
                         rho_min: float = 0.8, figure: str = "") -> ClaimRow:
    """Claim 1 from :func:`claim1_tests` (``claim1_tests.tsv``). The claim has two parts, both judged
    on the **degree** family (the rung the claim names):

    * hierarchy explained by the degree sequence, for every regional-hierarchy metric: the degree
      nulls' mean profile reproduces the real one, agreement's lower 95 % bound >= ``rho_min``
      (``analysis.profile_rho_min``; an equivalence-type bound, not a non-significant difference) and
      no significant atypicality (q_atypical > alpha);
    * FC explained by the specific wiring: the real FC pattern is atypical among the degree nulls
      (q_atypical <= alpha).

    Underpowered when the family of tests cannot reach FDR significance (1/(N+1) x tests > alpha):
    then neither a wiring-specific FC nor a hierarchy remainder beyond degree could be seen, and
    an agreement alone is no evidence. Effect: the smallest degree agreement over the hierarchy
    metrics, with its interval; q: the FC-vs-degree test's."""
    need = {"metric", "kind", "family", "agreement", "ci_low", "ci_high", "p_atypical", "q_atypical", "n_nulls",
            "n_tests_fdr"}
    miss = sorted(need - set(tests.columns))
    if miss:
        raise ValueError(f"claim 1: the tests table lacks columns {miss}")
    deg = tests[tests["family"].astype(str) == "degree"]
    if deg.empty:
        raise ValueError("claim 1: no degree-family test (nulls.families must include degree; a complete graph "
                         "such as hcp80 refuses degree nulls)")
    n_nulls = int(pd.to_numeric(tests["n_nulls"], errors="coerce").min())
    n_tests = int(pd.to_numeric(tests["n_tests_fdr"], errors="coerce").max())
    res = permutation_resolution(n_nulls, n_tests, alpha)
    hier, fc = deg[deg["kind"] == "hierarchy"], deg[deg["kind"] == "fc"]
    if hier.empty:
        raise ValueError("claim 1: no regional-hierarchy metric in the tests table")
    expl = (pd.to_numeric(hier["ci_low"], errors="coerce") >= rho_min) & \
        ~(pd.to_numeric(hier["q_atypical"], errors="coerce") <= alpha)
    k, n = int(expl.sum()), len(hier)
    fc_q = float(pd.to_numeric(fc["q_atypical"], errors="coerce").iloc[0]) if len(fc) else math.nan
    fc_ok = bool(len(fc)) and fc_q <= alpha
    worst = hier.loc[pd.to_numeric(hier["agreement"], errors="coerce").idxmin()]
    what = (f"tested: per (metric, null family) the real network's regional profile against the family's "
            f"({n_tests} tests in one BH family, network as the unit); hierarchy explained by degree = degree "
            f"agreement's lower 95 % bound >= {rho_min:g} and no significant atypicality; FC wiring-specific = the real "
            f"FC pattern atypical among degree nulls (q <= {alpha:g})")
    if not res.powered:
        v, why = UNDERPOWERED, res.reason()
    elif k == n and fc_ok:
        v, why = SUPPORTED, f"all {n} hierarchy metrics explained by degree; FC atypical among degree nulls (q {fc_q:.3g})"
    else:
        parts = []
        if k < n:
            parts.append(f"{n - k} of {n} hierarchy metrics not explained by degree")
        if not len(fc):
            parts.append("no FC pattern in this design")
        elif not fc_ok:
            parts.append(f"FC pattern not atypical among degree nulls (q {fc_q:.3g})")
        v, why = NOT_SUPPORTED, "; ".join(parts) + "; " + res.reason()
    per = "; ".join(f"{r['metric']} vs {r['family']}: agreement {r['agreement']:.3f} [{r['ci_low']:.3f}, "
                    f"{r['ci_high']:.3f}], atypicality q {r['q_atypical']:.3g}" for _, r in tests.iterrows())
    return _row("1", test=_test_string(cfg, "wilson_cowan", "profile tests per (metric, family), regions pooled"),
                effect=float(worst["agreement"]), ci_low=float(worst["ci_low"]), ci_high=float(worst["ci_high"]),
                effect_label=(f"smallest degree-null agreement with the real regional profile ({worst['metric']}; "
                              f"{k}/{n} hierarchy metrics explained; bootstrap 95 %)"),
                q=fc_q, verdict=v, figure=figure, note=f"{why}. {what}. Per test: {per}",
                extra={"resolution": res})


def claim2_silencing(silencing: pd.DataFrame, *, cfg: Mapping | None = None, alpha: float = ALPHA,
                     figure: str = "") -> ClaimRow:
    """Claim 2 from ``silencing.tsv`` (family real): the G at which each class group is first
    silenced (median over seeds), Kendall tau with the predecessor's order (exact permutation p over
    the groups; the basal ganglia must never be silenced). Fewer than 3 groups silenced inside the
    sweep: the order does not occur (not supported, when the design could resolve it)."""
    real = silencing[silencing["family"].astype(str) == "real"]
    if real.empty:
        raise ValueError("claim 2: no real-network row in the silencing table")
    par = [c for c in real.columns if c == "G"]
    g = pd.to_numeric(real.set_index("region_class")["g_first_median"], errors="coerce")
    g = g[~g.index.duplicated()]
    sizes = None
    finite = {c: float(v) for c, v in g.items() if np.isfinite(v)}
    gm = group_means(finite, sizes, PREDECESSOR_ORDER_SILENCING)
    t = order_test(gm, list(PREDECESSOR_ORDER_SILENCING), descending=False)
    bg = g.get("basal_ganglia", math.nan)
    bg_never = bool(np.isinf(bg)) if np.isfinite(bg) or np.isinf(bg) else False
    n_sil = len(finite)
    Gs = (cfg or {}).get("simulate", {}).get("G")
    res = order_resolution(len(PREDECESSOR_ORDER_SILENCING), 1, alpha)
    if t["n_groups"] < 3:
        v = NOT_SUPPORTED if res.powered else UNDERPOWERED
        why = (f"{n_sil} region class(es) silenced inside the sweep ({', '.join(sorted(finite)) or 'none'}): "
               f"no order to compare; basal ganglia {'never' if bg_never else 'silenced'}")
        q = math.nan
    else:
        q = t["p"]
        v, why = verdict(q, t["tau"] > 0 and bg_never, res)
        why += f"; groups {', '.join(t['groups'])}; basal ganglia {'never silenced' if bg_never else 'silenced'}"
    return _row("2", test=_test_string(cfg, "wilson_cowan", "silencing = first G of each class (median over seeds)"),
                effect=t["tau"], effect_label="Kendall tau, real network's silencing order vs the predecessor's",
                q=q, verdict=v, figure=figure, note=why + (f"; G swept {Gs}" if Gs else ""), extra={"order": t, **({"par": par})})


def _real_classes(class_summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    cs = class_summary[(class_summary["family"].astype(str) == "real") & (class_summary["metric"] == metric)]
    if cs.empty:
        raise ValueError(f"no real-network class rows for metric {metric!r} in the class summary")
    return cs


def hierarchy_sweep(t1t2: pd.DataFrame, class_summary: pd.DataFrame, *, metric: str, model: str,
                    param: str = "G") -> pd.DataFrame:
    """Per operating point (``param``): rho(metric, T1w/T2w) of the real network with the spatial
    null's central 95 % (``ref_q025``, ``ref_q975``), its p and q, and Kendall tau of the class-group
    means against the predecessor's rate order (with its exact p). One row per parameter value."""
    t = t1t2[(t1t2["metric"] == metric) & ~t1t2["reference"].astype(str).str.endswith("null networks")]
    if t.empty:
        raise ValueError(f"{model}: no T1w/T2w map-null row for metric {metric!r}")
    cs = _real_classes(class_summary, metric)
    rows = []
    for pv, tt in t.groupby(param, sort=True):
        r = tt.iloc[0]
        c = cs[np.isclose(pd.to_numeric(cs[param], errors="coerce"), float(pv))] if param in cs else cs
        means = dict(zip(c["region_class"], pd.to_numeric(c["mean"], errors="coerce")))
        sizes = dict(zip(c["region_class"], pd.to_numeric(c["n_regions"], errors="coerce")))
        gm = group_means(means, sizes, PREDECESSOR_ORDER_RATE)
        o = order_test(gm, list(PREDECESSOR_ORDER_RATE))
        rows.append({"model": model, "metric": metric, param: float(pv), "rho_t1t2": _num(r["rho"]),
                     "ref_q025": _num(r.get("ref_q025")), "ref_q975": _num(r.get("ref_q975")),
                     "p_two": _num(r.get("p_two")), "q_two": _num(r.get("q_two")),
                     "tau_predecessor_order": o["tau"], "p_order": o["p"], "n_groups": o["n_groups"],
                     **{f"group_{k}": v for k, v in gm.items()}})
    return pd.DataFrame(rows)


def claim3_spiking(sweep: pd.DataFrame, t1t2: pd.DataFrame, *, cfg: Mapping | None = None, alpha: float = ALPHA,
                   figure: str = "") -> ClaimRow:
    """Claim 3 from the LIF sweep rows (:func:`hierarchy_sweep` with metric rate) and ``t1t2.tsv``:
    the class order sensory > thalamus > motor > basal ganglia > prefrontal (Kendall tau, exact
    permutation p over 5 groups, BH over the G values), effect = tau at the G with the smallest q;
    the note gives rho(rate, T1w/T2w) against the spatial null and against the null networks."""
    if sweep.empty:
        raise ValueError("claim 3: empty LIF sweep")
    p = sweep["p_order"].to_numpy(float)
    ok = np.isfinite(p)
    q = np.full(p.shape, np.nan)
    if ok.any():
        q[ok] = bh_fdr(p[ok], alpha)[0]
    i = int(np.nanargmin(np.where(np.isfinite(q), q, np.inf))) if ok.any() else 0
    r = sweep.iloc[i]
    res = order_resolution(int(r["n_groups"]), int(ok.sum()) or 1, alpha)
    v, why = verdict(q[i], r["tau_predecessor_order"] > 0, res)
    nets = t1t2[(t1t2["metric"] == "rate") & t1t2["reference"].astype(str).str.contains("null networks")]
    net_txt = "; ".join(f"G {_num(a.get('G')):g} vs {a['reference']}: rho {a['rho']:.2f} (nulls {a['ref_q025']:.2f} to {a['ref_q975']:.2f}, "
                        f"p {a['p_two']:.3g})" for _, a in nets.iterrows())
    gtxt = ", ".join(f"{k[6:]} {r[k]:.2f}" for k in sweep.columns if k.startswith("group_") and np.isfinite(r[k]))
    note = (why + f"; at G {r['G']:g}: class-group rates (Hz) {gtxt}; rho(rate, T1w/T2w) {r['rho_t1t2']:.2f} "
            f"(spatial null {r['ref_q025']:.2f} to {r['ref_q975']:.2f}, q {r['q_two']:.3g})" + (f"; {net_txt}" if net_txt else ""))
    return _row("3", test=_test_string(cfg, "lif", "class order = Kendall tau vs the predecessor's, exact permutation p"),
                effect=float(r["tau_predecessor_order"]), effect_label="Kendall tau of class-group rates vs the predecessor's order",
                q=float(q[i]), verdict=v, figure=figure, note=note, extra={"resolution": res})


def claim4_opposite(sweeps: Mapping[str, pd.DataFrame], *, cfg: Mapping | None = None, figure: str = "") -> ClaimRow:
    """Claim 4 from one hierarchy sweep per model (:func:`hierarchy_sweep`): the sign of rho(activity,
    T1w/T2w) of the real network at every operating point, counted only where rho lies outside the
    spatial map null's central 95 % (``ref_q025``, ``ref_q975``; inside it the sign is 0: no
    hierarchy distinguishable from a random map with the same spatial autocorrelation).

    * **explained**: a model's (resolved) sign flips across its sweep (the opposition depends on the
      operating point; the flip is located), or both models have the same resolved sign everywhere
      (the opposition is not reproduced);
    * **left open**: the models' resolved signs are opposite at every point where they are resolved
      (no flip found), or a model has no resolved sign anywhere (no hierarchy at this size)."""
    parts, res_signs = [], {}
    for model, sw in sweeps.items():
        rho = sw["rho_t1t2"].to_numpy(float)
        lo = sw.get("ref_q025", pd.Series(np.nan, index=sw.index)).to_numpy(float)
        hi = sw.get("ref_q975", pd.Series(np.nan, index=sw.index)).to_numpy(float)
        sig = np.where(np.isfinite(rho) & np.isfinite(lo) & np.isfinite(hi) & ((rho < lo) | (rho > hi)), np.sign(rho), 0.0)
        res_signs[model] = sig
        seq = [(g, x) for g, x in zip(sw["G"], sig) if x != 0]
        flips = [f"{a:g}->{b:g}" for (a, x), (b, y) in zip(seq[:-1], seq[1:]) if x != y]
        raw = [(g, r) for g, r in zip(sw["G"], rho) if np.isfinite(r)]
        rawflips = [f"{a:g}->{b:g}" for (a, x), (b, y) in zip(raw[:-1], raw[1:]) if np.sign(x) != np.sign(y)]
        taus = ", ".join(f"{g:g}: {t:+.2f}" for g, t in zip(sw["G"], sw.get("tau_predecessor_order", pd.Series(np.nan, index=sw.index))))
        parts.append(f"{model}: rho(T1w/T2w) by G " + ", ".join(
            f"{g:g}: {r:+.2f}{'*' if x else ''}" for g, r, x in zip(sw["G"], rho, sig))
            + (f"; resolved sign flips at G {', '.join(flips)}" if flips else "; no resolved sign flip")
            + (f"; raw sign changes (inside the map null) at G {', '.join(rawflips)}" if rawflips and not flips else "")
            + f"; tau vs predecessor order by G {taus}")
    models = list(sweeps)
    legend = " (* = outside the spatial null's central 95 %)"
    test = " and ".join(_test_string(cfg, m) for m in models) if cfg else ", ".join(models)
    eff = {m: float(np.nanmedian(sweeps[m]["rho_t1t2"])) if np.isfinite(sweeps[m]["rho_t1t2"]).any() else math.nan
           for m in models}
    kw = dict(test=test, figure=figure,
              effect=eff[models[0]] - eff[models[1]] if len(models) > 1 else math.nan,
              effect_label=(f"median rho(T1w/T2w) {models[0]} minus {models[1]} over their sweeps" if len(models) > 1 else ""))
    if len(models) < 2:
        return _row("4", verdict=LEFT_OPEN, note="needs both models; " + "; ".join(parts), **kw)
    unresolved = [m for m in models if not np.any(res_signs[m] != 0)]
    if unresolved:
        return _row("4", verdict=LEFT_OPEN, note=(f"no T1w/T2w hierarchy distinguishable from the spatial map null in "
                                                  f"{', '.join(unresolved)} at any swept operating point: the opposition "
                                                  "cannot be located at this size" + legend + ". " + "; ".join(parts)), **kw)
    sa, sb = (set(res_signs[m][res_signs[m] != 0]) for m in models[:2])
    if any(len(x) > 1 for x in (sa, sb)):
        v, why = EXPLAINED, "a model's hierarchy changes sign across its operating range: the models agree or disagree by where they run"
    elif sa == sb:
        v, why = EXPLAINED, "both models have the same resolved sign wherever resolved: the opposition is not reproduced here"
    else:
        v, why = LEFT_OPEN, "the models' resolved signs are opposite at every resolved operating point: no flip found in the sweep"
    return _row("4", verdict=v, note=why + legend + ". " + "; ".join(parts), **kw)


def claim5_learning(effects: pd.DataFrame | None, vs_nulls: pd.DataFrame | None, embody_vs_null: pd.DataFrame | None,
                    *, alpha: float = ALPHA, figure: str = "") -> ClaimRow:
    """Claim 5 from the learn stage (``effects.tsv``: real network's plastic - frozen effect per
    seed, exact sign-flip p; ``vs_nulls.tsv``: the real effect against the null networks') and the
    embody stage (``brain_vs_null.tsv``). The verdict is that of the conditioning advantage (the
    claim's one significance claim: real vs null networks, primary measure); the others in the note."""
    if vs_nulls is None and effects is None and embody_vs_null is None:
        return pending_row("5", "pending: run config/learn.yaml and config/embody.yaml (stages learn, embody)")
    notes, v, q, eff, lo, hi, label = [], PENDING, math.nan, math.nan, math.nan, math.nan, ""
    if effects is not None and len(effects):
        e = effects[(effects["family"].astype(str) == "real") & effects["primary"].astype(bool)]
        for _, r in e.iterrows():
            res = signflip_resolution(int(r["n_seeds"]), int((effects["family"].astype(str) == "real").sum() // max(1, effects["protocol"].nunique())) or 1, alpha)
            vv, why = verdict(_num(r.get("q_signflip")), True, res)
            notes.append(f"{r['protocol']} {r['measure']}: plastic - frozen {r['effect']:+.3g} "
                         f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}], n = {int(r['n_seeds'])} seeds, q {r.get('q_signflip', math.nan):.3g} "
                         f"({vv if vv == UNDERPOWERED else ('significant' if _num(r.get('q_signflip')) <= alpha else 'not significant')})")
    if vs_nulls is not None and len(vs_nulls):
        c = vs_nulls[(vs_nulls["protocol"].astype(str) == "conditioning") & vs_nulls["primary"].astype(bool)]
        if len(c):
            c = c.sort_values("q").iloc[0]
            res = permutation_resolution(int(c["n_nulls"]), len(vs_nulls), alpha)
            v, why = verdict(_num(c["q"]), _num(c["real_effect"]) > _num(c["null_mean"]), res)
            eff = _num(c["real_effect"]) - _num(c["null_mean"])
            sd = _num(c["null_sd"])
            lo, hi = eff - 1.96 * sd, eff + 1.96 * sd
            q = _num(c["q"])
            label = f"conditioning ({c['measure']}): real minus {c['family']} null mean (+-1.96 null SD)"
            notes.insert(0, "conditioning advantage vs nulls: " + why)
    if embody_vs_null is not None and len(embody_vs_null) and "q" in embody_vs_null:
        ev = embody_vs_null.dropna(subset=["q"])
        nn = int(pd.to_numeric(ev["n_nulls"], errors="coerce").min()) if len(ev) else 0
        res = permutation_resolution(nn, len(ev), alpha)
        notes.append(f"embodiment: {int((ev['q'] <= alpha).sum())}/{len(ev)} metrics differ from nulls "
                     f"({'underpowered: ' + res.reason() if not res.powered else res.reason()})")
    return _row("5", test="learn stage (plastic vs frozen, real vs nulls) and embody stage (brain vs null)",
                effect=eff, ci_low=lo, ci_high=hi, effect_label=label, q=q, verdict=v, figure=figure,
                note="; ".join(notes))


def claim6_fc(heldout: pd.DataFrame, *, baseline_r: float | None = None, cfg: Mapping | None = None,
              alpha: float = ALPHA, measure: str = "pearson", figure: str = "") -> ClaimRow:
    """Claim 6 from the analytic Hopf ``heldout_vs_nulls.tsv`` (one row per null family: the real
    network's held-out FC r, ``p_greater_<measure>``, ``q_greater_<measure>``): the real connectome's
    simulated FC must match held-out empirical FC better than every null family's. Effect: the real
    held-out r; interval: the most permissive family's null central 95 %. SC alone beside."""
    need = [f"q_greater_{measure}"]
    miss = [c for c in need if c not in heldout.columns]
    if miss:
        raise ValueError(f"claim 6: columns {miss} missing from the held-out table (have {list(heldout.columns)})")
    rcol = next((c for c in (f"real_test_{measure}", f"real_test_r_{measure}", "real_test_r") if c in heldout), None)
    real = _num(heldout[rcol].iloc[0]) if rcol else math.nan
    qs = pd.to_numeric(heldout[f"q_greater_{measure}"], errors="coerce")
    n_nulls = int(pd.to_numeric(heldout["n_nulls"], errors="coerce").min()) if "n_nulls" in heldout else 0
    n_tests = int(_num(heldout["n_tests_fdr"].max(), len(heldout))) if "n_tests_fdr" in heldout else len(heldout)
    res = permutation_resolution(n_nulls, n_tests, alpha)
    v, why = verdict(float(qs.max()), True, res)
    lo = _num(heldout.get(f"null_q025_{measure}", pd.Series([np.nan])).max())
    hi = _num(heldout.get(f"null_q975_{measure}", pd.Series([np.nan])).max())
    fam = "; ".join(f"{r['family']}: q {r[f'q_greater_{measure}']:.3g}" for _, r in heldout.iterrows())
    base = f"; SC alone r {baseline_r:.3f}" if baseline_r is not None and np.isfinite(baseline_r) else ""
    return _row("6", test=_test_string(cfg, "hopf", "held-out FC, analytic Hopf for every null"), effect=real,
                ci_low=lo, ci_high=hi, effect_label=f"held-out FC r ({measure}) of the real network (nulls' central 95 %)",
                q=float(qs.max()), verdict=v, figure=figure, note=why + f"; {fam}{base}")


def claim7_evoked(tests: pd.DataFrame | None, *, alpha: float = ALPHA, figure: str = "") -> ClaimRow:
    """Claim 7 from ``evoked_tests.tsv`` (test, measure, effect, ci_low, ci_high, p, q, n, note):
    the wall claims no propagation beyond visual cortex. A test whose name or measure says
    propagation/beyond/outside and whose q <= alpha with a positive effect refutes it (not
    supported); without one, absence of propagation is not shown by non-significance:
    underpowered (no equivalence test)."""
    if tests is None:
        return pending_row("7", "pending: run config/studies/claim7_dmri_wall.yaml (evoked_tests.tsv)")
    need = ["test", "measure", "effect", "ci_low", "ci_high", "p", "q", "n", "note"]
    miss = [c for c in need if c not in tests.columns]
    if miss:
        raise ValueError(f"claim 7: evoked_tests.tsv lacks columns {miss}")
    t = tests.copy()
    t["q"] = pd.to_numeric(t["q"], errors="coerce")
    beyond = (t["test"].astype(str) + " " + t["measure"].astype(str)).str.contains("beyond|outside|propagat|non.?visual|path", case=False)
    # the stimulated regions themselves (hop 0) responding is the stimulus, not propagation
    beyond &= ~t["measure"].astype(str).str.contains(r"hop_?0\b|hop0@|stimulated", case=False)
    main = t[beyond] if beyond.any() else t
    sig = main[(main["q"] <= alpha) & (pd.to_numeric(main["effect"], errors="coerce") > 0)]
    pick = sig if len(sig) else main
    r = pick.loc[pick["q"].fillna(np.inf).idxmin()]
    if len(sig):
        v, why = NOT_SUPPORTED, f"evoked activity beyond visual cortex: {len(sig)} test(s) with q <= {alpha:g}"
    else:
        v, why = UNDERPOWERED, "no significant propagation; absence is not shown by non-significance (no equivalence test)"
    listing = "; ".join(f"{a['test']} {a['measure']}: {_num(a['effect']):+.3g} [{_num(a['ci_low']):.3g}, {_num(a['ci_high']):.3g}] "
                        f"q {_num(a['q']):.3g} n {a['n']}" for _, a in t.iterrows())
    return _row("7", test="evoked propagation along shortest paths, with and without FFI, real vs nulls (evoked_tests.tsv)",
                effect=_num(r["effect"]), ci_low=_num(r["ci_low"]), ci_high=_num(r["ci_high"]),
                effect_label=f"{r['test']} ({r['measure']})", q=_num(r["q"]), verdict=v, figure=figure,
                note=why + ". " + listing)


COGNITION_COLUMNS = ("experiment", "contrast", "unit", "network", "n", "effect", "ci_low", "ci_high", "p", "min_p",
                     "control", "figure")
COGNITION_EXPERIMENTS = ("working_memory", "pattern_recognition", "structure")


def claim8_cognitive(vs_nulls: pd.DataFrame | None = None, *, tests: pd.DataFrame | None = None,
                     alpha: float = ALPHA, figure: str = "") -> ClaimRow:
    """Claim 8 from the cognition stage's ``cognition_tests.tsv`` (``tests``: one row per test,
    columns :data:`COGNITION_COLUMNS`; the interface in docs/claims.md): BH over the file's rows; a
    row is powered when its smallest attainable p (``min_p``) x the rows in the BH family <= alpha.
    The claim needs every experiment (working memory, pattern recognition, structure): an experiment
    is shown by a powered row with q <= alpha and a positive effect (each row is a contrast against
    its control: no NMDA, frozen weights, null networks).

    * supported: every experiment shown;
    * not supported: an experiment whose rows are all powered and none shown (or shown with the
      opposite sign);
    * underpowered at this size: otherwise (an experiment could not be shown by its design).

    Without the cognition table: the conditioning advantage from the learn stage (``vs_nulls``, as
    claim 5) and the demo's numbers, the rest pending."""
    if tests is not None:
        miss = [c for c in COGNITION_COLUMNS if c not in tests.columns]
        if miss:
            raise ValueError(f"claim 8: cognition_tests.tsv lacks columns {miss} (interface: {', '.join(COGNITION_COLUMNS)})")
        t = tests.copy()
        p = pd.to_numeric(t["p"], errors="coerce").to_numpy(float)
        t["q"] = bh_fdr(p, alpha)[0]
        m = int(np.isfinite(p).sum())
        t["powered"] = [Resolution(_num(mp, 1.0), max(m, 1), alpha, "min_p").powered for mp in t["min_p"]]
        eff = pd.to_numeric(t["effect"], errors="coerce")
        t["shown"] = t["powered"] & (t["q"] <= alpha) & (eff > 0)
        status, notes = {}, []
        for exp in sorted(set(t["experiment"].astype(str)) | set(COGNITION_EXPERIMENTS)):
            e = t[t["experiment"].astype(str) == exp]
            if e.empty:
                status[exp] = "missing"
            elif e["shown"].any():
                status[exp] = "shown"
            elif e["powered"].all():
                status[exp] = "refuted"
            else:
                status[exp] = "underpowered"
            notes.append(f"{exp}: {status[exp]}" + "".join(
                f"; {r['contrast']} ({r['unit']}, {r['network']}, n {r['n']}, control {r['control']}): "
                f"{_num(r['effect']):+.3g} [{_num(r['ci_low']):.3g}, {_num(r['ci_high']):.3g}], p {_num(r['p']):.3g}, "
                f"q {_num(r['q']):.3g}{'' if r['powered'] else ' (underpowered: min p ' + format(_num(r['min_p']), '.3g') + ' x ' + str(m) + ' tests > ' + format(alpha, 'g') + ')'}"
                for _, r in e.iterrows()))
        if all(v == "shown" for v in status.values()):
            v, why = SUPPORTED, "every experiment shown against its control"
        elif any(v in ("refuted",) for v in status.values()):
            v, why = NOT_SUPPORTED, ("not shown by a design that could show it: "
                                     + ", ".join(k for k, x in status.items() if x == "refuted"))
        elif any(v == "missing" for v in status.values()) and not any(v == "underpowered" for v in status.values()):
            v, why = NOT_SUPPORTED, "no test of: " + ", ".join(k for k, x in status.items() if x == "missing")
        else:
            v, why = UNDERPOWERED, ("cannot be shown at this size: "
                                    + ", ".join(k for k, x in status.items() if x == "underpowered"))
        best = t.loc[t["q"].fillna(np.inf).idxmin()]
        fig = figure or (str(best["figure"]) if isinstance(best["figure"], str) and best["figure"] not in ("", "nan") else "")
        return _row("8", test=f"cognition stage: {len(t)} tests (working memory, pattern recognition, structure), "
                               "each against its control, BH over the table",
                    effect=_num(best["effect"]), ci_low=_num(best["ci_low"]), ci_high=_num(best["ci_high"]),
                    effect_label=f"{best['experiment']}: {best['contrast']} (smallest q)", q=_num(best["q"]),
                    verdict=v, figure=fig, note=why + ". " + " | ".join(notes), extra={"tests": t})
    demo = ("working memory, pattern recognition and the grid world: pending (no workflow stage; the demo's "
            "measurements in docs/demo.md: no persistent activity (gone within ~150 ms), NMDA lengthens the tail "
            "0.60 vs 0.48 Hz, paired p = 0.045, 8 seeds x 3 repeats; 5-pattern readout 0.33 vs 0.20 chance, "
            "3 seeds; grid world with learning 140/160 episodes vs frozen weights 11/160, 8 seeds, one network: "
            "a learning effect, not a structural one)")
    if vs_nulls is None or not len(vs_nulls):
        return pending_row("8", demo + "; conditioning: pending: run config/learn.yaml")
    r5 = claim5_learning(None, vs_nulls, None, alpha=alpha)
    return _row("8", test="conditioning: learn stage real vs null networks; the rest: demo only",
                effect=r5.effect, ci_low=r5.ci_low, ci_high=r5.ci_high, effect_label=r5.effect_label, q=r5.q,
                verdict=r5.verdict, note=r5.note + "; " + demo)


def not_run_row(claim: str, what: str) -> ClaimRow:
    """A claim the run's stages and configuration cannot evaluate (the workflow's claims page)."""
    return _row(claim, verdict=NOT_RUN, note=f"not run in this configuration: {what}")


# ----------------------------------------------------------------------------- the page
COLUMNS = ("claim", "title", "predecessor", "test", "effect", "ci_low", "ci_high", "effect_label", "q", "verdict",
           "figure", "note")


def rows_table(rows: Iterable[ClaimRow]) -> pd.DataFrame:
    return pd.DataFrame([r.as_dict() for r in rows], columns=list(COLUMNS))


def _f(x, nd=3) -> str:
    x = _num(x)
    return "" if not np.isfinite(x) and not np.isinf(x) else f"{x:.{nd}g}"


def _effect_cell(r: ClaimRow) -> str:
    """A row's effect as the page writes it: value [interval] (label); empty without a value."""
    eff = _f(r.effect)
    if eff and (np.isfinite(r.ci_low) or np.isfinite(r.ci_high)):
        eff += f" [{_f(r.ci_low)}, {_f(r.ci_high)}]"
    if r.effect_label and eff:
        eff += f" ({r.effect_label})"
    return eff


def claims_markdown(rows: Iterable[ClaimRow], *, header: str = "", sizes: pd.DataFrame | None = None) -> str:
    """The claims page (Markdown): one table row per claim, then each claim's note."""
    rows = list(rows)
    out = ["# The predecessor's claims, re-tested (issue 21)", ""]
    if header:
        out += [header, ""]
    out += ["Verdicts: *supported* / *not supported* only where the design can reach FDR significance "
            f"(smallest attainable p x tests in the BH family <= {ALPHA:g}); otherwise *underpowered at this size*. "
            "Claim 4 is *explained* (the sweep shows the signs and flips) or *left open*.", "",
            "| claim | predecessor's evidence | our test | effect [95 % interval] | FDR q | verdict | figure |",
            "|---|---|---|---|---|---|---|"]
    for r in rows:
        eff = _effect_cell(r)
        fig = f"[{r.figure.rsplit('/', 1)[-1]}]({r.figure})" if r.figure else ""
        cell = lambda s: str(s).replace("|", "/").replace("\n", " ")
        out.append(f"| {r.claim}. {cell(r.title)} | {cell(r.predecessor)} | {cell(r.test) or '-'} | {cell(eff) or '-'} | "
                   f"{_f(r.q) or '-'} | **{r.verdict}** | {fig or '-'} |")
    out += ["", "## Notes", ""]
    for r in rows:
        out.append(f"- **Claim {r.claim}** ({r.verdict}): {r.note or '-'}")
    if sizes is not None and len(sizes):
        out += ["", "## Sizes and times", "", "| " + " | ".join(sizes.columns) + " |",
                "|" + "---|" * len(sizes.columns)]
        for _, s in sizes.iterrows():
            out.append("| " + " | ".join(str(x) for x in s.to_list()) + " |")
    return "\n".join(out) + "\n"


def claims_html(rows: Iterable[ClaimRow], *, header: str = "", figures: Mapping[str, str] | None = None) -> str:
    """The claims page as one self-contained HTML page (the Snakemake report shows it inline):
    the same table and notes as :func:`claims_markdown`; ``figures`` (name -> data URI or path)
    are shown under the notes."""
    import html as H

    rows = list(rows)
    e = lambda x: H.escape(str(x))
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>claims</title><style>"
           "body{font-family:sans-serif;max-width:1400px;margin:1em auto;font-size:14px}"
           "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px;vertical-align:top}"
           "th{background:#eee}</style></head><body>",
           "<h1>The predecessor's claims, re-tested (issue 21)</h1>"]
    if header:
        out.append(f"<p>{e(header)}</p>")
    out.append("<p>Verdicts: <i>supported</i> / <i>not supported</i> only where the design can reach FDR "
               f"significance (smallest attainable p x tests in the BH family &lt;= {ALPHA:g}); otherwise "
               "<i>underpowered at this size</i>. <i>not run in this configuration</i>: this run's stages cannot "
               "evaluate the claim (the row names the study config that does).</p>")
    out.append("<table><tr><th>claim</th><th>predecessor's evidence</th><th>our test</th>"
               "<th>effect [95 % interval]</th><th>FDR q</th><th>verdict</th><th>figure</th></tr>")
    for r in rows:
        eff = _effect_cell(r)
        out.append(f"<tr><td>{e(r.claim)}. {e(r.title)}</td><td>{e(r.predecessor)}</td><td>{e(r.test) or '-'}</td>"
                   f"<td>{e(eff) or '-'}</td><td>{_f(r.q) or '-'}</td><td><b>{e(r.verdict)}</b></td>"
                   f"<td>{e(r.figure) or '-'}</td></tr>")
    out.append("</table><h2>Notes</h2><ul>")
    out += [f"<li><b>Claim {e(r.claim)}</b> ({e(r.verdict)}): {e(r.note) or '-'}</li>" for r in rows]
    out.append("</ul>")
    for name, src in (figures or {}).items():
        out.append(f"<h3>{e(name)}</h3><img style='max-width:100%' src='{src}'>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- cluster-size estimate
def simulation_runs(cfg: Mapping, *, complete_graph: bool = False) -> dict[str, dict]:
    """Runs per model that a resolved config asks for: networks (the real one + families x nulls)
    x seeds x G values, and the simulated seconds per run. ``G: auto`` counts
    ``operating_point.num`` values. ``complete_graph``: degree and geometry nulls are refused (hcp80)."""
    fams = [f for f in cfg.get("nulls", {}).get("families", [])
            if not (complete_graph and f in ("degree", "geometry", "degree_connected", "richclub"))]
    n_net = 1 + len(fams) * int(cfg.get("nulls", {}).get("n_per_family", 0))
    sim = cfg.get("simulate", {})
    out = {}
    for model in sim.get("model", []):
        sec = {**sim, **dict(sim.get("per_model", {}).get(model, {}))}
        if model == "lif":
            sp = cfg.get("spiking", {})
            nG = len(sp.get("G", [0.5]))
            seeds = int(sp.get("seeds_per_network", sim.get("seeds_per_network", 1)))
            t = (float(sp.get("duration", 2000.0)) + float(sp.get("transient", 200.0))) / 1000.0
        else:
            G = sec.get("G", "auto")
            nG = int(sec.get("operating_point", {}).get("num", 2)) if G == "auto" else len(G)
            seeds = int(sec.get("seeds_per_network", 1))
            t = (float(sec.get("duration", 500.0))) / 1000.0
        out[model] = {"networks": n_net, "seeds": seeds, "n_G": nG, "runs": n_net * seeds * nG, "sim_s_per_run": t}
    return out


def core_hours(runs: Mapping[str, Mapping], cpu_per_sim_s: Mapping[str, float], *, n_jobs: int,
               cpu_per_job: float) -> dict:
    """Estimated CPU core-hours: every model's runs x simulated seconds x measured CPU s per simulated
    second of one run (marginal cost), plus n_jobs x the measured mean fixed CPU cost of a job
    (imports, compilation, file writes). Models without a measured cost: ``missing``."""
    sim = 0.0
    missing = []
    for m, r in runs.items():
        c = cpu_per_sim_s.get(m)
        if c is None or not np.isfinite(c):
            missing.append(m)
            continue
        sim += r["runs"] * r["sim_s_per_run"] * c
    fixed = n_jobs * cpu_per_job
    return {"sim_core_h": sim / 3600.0, "fixed_core_h": fixed / 3600.0, "core_h": (sim + fixed) / 3600.0,
            "missing": missing}
