"""Statistics of the learning protocols: paired effects (plastic - frozen, one pair per seed id),
the exact sign-flip permutation test, confidence bands of learning curves, and the real network
against null networks with the network as the unit (one effect per network, an empirical p per
null family, Benjamini-Hochberg over the study's tests).

Per-run measures (:func:`run_measures`):

* habituation: ``novelty`` = (R_B - R_A) / (R_B + R_A) at the test (R: mean rate of a pattern's
  stimulated neurons; A repeated, B novel; > 0: the repeated pattern responds less, i.e.
  repetition suppression relative to a novel pattern); ``decline`` = 1 - R_A,test / R_A,first.
* conditioning: ``accuracy_last`` (fraction correct over the last ``block`` trials; chance 0.5),
  ``margin_last`` (mean rate of the stimulus's group minus the other's over those trials, Hz).
* three_way_eprop / three_way_rstdp (the k-way stimulus-action task; chance 1/k):
  ``accuracy_last`` as above, ``accuracy_gain`` (last block minus first block; in the runs
  table only, not tested: two measures per protocol keep the BH family of real vs nulls at
  2 x families),
  ``p_correct_last`` (e-prop: the policy's mean probability of the right action over the last
  block; chance 1/k) or ``margin_last`` (R-STDP: the stimulus's response group minus the best
  other one, Hz).

The effect of learning for a seed id is the plastic run's measure minus the frozen run's.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats as st

from encephagen.analysis.stats import bh_fdr, empirical_p
from encephagen.seeds import numpy_rng

PRIMARY = {"habituation": "novelty", "conditioning": "accuracy_last", "three_way_eprop": "accuracy_last",
           "three_way_rstdp": "accuracy_last"}
MEASURES = {"habituation": ("novelty", "decline"), "conditioning": ("accuracy_last", "margin_last"),
            "three_way_eprop": ("accuracy_last", "p_correct_last"),
            "three_way_rstdp": ("accuracy_last", "margin_last")}
EXACT_MAX = 20


def sign_flip_test(d, n_permutations: int = 100_000, seed: int = 0) -> dict:
    """Two-sided paired sign-flip permutation test of mean(d) = 0.

    Exact (every one of the 2^n sign patterns, the observed one included) for n <= 20;
    otherwise ``n_permutations`` random patterns plus the observed one ((k + 1) / (m + 1)).
    NaN differences are dropped (``n`` says how many were used)."""
    d = np.asarray(d, float)
    d = d[np.isfinite(d)]
    n = d.size
    if n == 0:
        return {"n": 0, "mean": math.nan, "p": math.nan, "exact": False, "n_patterns": 0}
    obs = abs(d.sum())
    tol = 1e-12 * max(1.0, np.abs(d).sum())
    if n <= EXACT_MAX:
        hits, total = 0, 0
        k = min(n, 16)     # enumerate the first k signs as a matrix, the rest in a loop
        head = np.array(list(itertools.product((1.0, -1.0), repeat=k)))          # (2^k, k)
        hs = head @ d[:k]
        for tail in itertools.product((1.0, -1.0), repeat=n - k):
            s = hs + (np.dot(tail, d[k:]) if n > k else 0.0)
            hits += int(np.sum(np.abs(s) >= obs - tol))
            total += s.size
        return {"n": n, "mean": float(d.mean()), "p": hits / total, "exact": True, "n_patterns": total}
    rng = numpy_rng(seed)
    hits = 0
    done = 0
    while done < n_permutations:
        m = min(65536, n_permutations - done)
        s = (rng.integers(0, 2, (m, n)) * 2 - 1) @ d
        hits += int(np.sum(np.abs(s) >= obs - tol))
        done += m
    return {"n": n, "mean": float(d.mean()), "p": (hits + 1) / (n_permutations + 1), "exact": False,
            "n_patterns": n_permutations}


def mean_ci(x, axis: int = 0, conf: float = 0.95):
    """Mean and the t confidence interval of the mean along ``axis`` (NaN ignored)."""
    x = np.asarray(x, float)
    n = np.sum(np.isfinite(x), axis=axis)
    m = np.nanmean(x, axis=axis)
    sd = np.nanstd(x, axis=axis, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = st.t.ppf(0.5 + conf / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return m, m - h, m + h


def run_measures(protocol: str, trials: dict, block: int = 10) -> dict:
    """Per-run measures (module docstring) from a file's ``trials`` group."""
    if protocol == "habituation":
        r, s = trials["response"], trials["stimulus"]
        ra, rb = r[:, -2], r[:, -1]
        if not (np.all(s[:, -1] == 1) and np.all(s[:, :-1] == 0)):
            raise ValueError("habituation trials must be n x A, then B")
        with np.errstate(invalid="ignore", divide="ignore"):
            return {"novelty": (rb - ra) / (rb + ra), "decline": 1.0 - ra / r[:, 0]}
    if protocol == "conditioning":
        c, m = trials["correct"], trials["margin"]
        return {"accuracy_last": c[:, -block:].mean(1), "margin_last": m[:, -block:].mean(1)}
    if protocol in ("three_way_eprop", "three_way_rstdp"):
        c = trials["correct"]
        out = {"accuracy_last": c[:, -block:].mean(1)}
        if protocol == "three_way_eprop":
            out["p_correct_last"] = trials["p_correct"][:, -block:].mean(1)
        else:
            out["margin_last"] = trials["margin"][:, -block:].mean(1)
        out["accuracy_gain"] = out["accuracy_last"] - c[:, :block].mean(1)
        return out
    raise ValueError(f"unknown protocol {protocol!r}")


def chance_level(protocol: str, config: dict) -> float | None:
    """Chance accuracy of a choice protocol (None for habituation)."""
    if protocol == "conditioning":
        return 0.5
    if protocol.startswith("three_way"):
        return 1.0 / int(config["three_way"]["n_actions"])
    return None


def learning_curve(correct: np.ndarray, block: int) -> np.ndarray:
    """(runs, n_blocks) fraction correct per block of ``block`` trials (a last partial block dropped)."""
    nb = correct.shape[1] // block
    return correct[:, :nb * block].reshape(correct.shape[0], nb, block).mean(2)


def paired_runs(runs: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One row per (network, seed id): the plastic and frozen value of ``measure`` and their difference."""
    key = ["atlas", "family", "null_index", "seed_id"]
    p = runs[runs.plastic == 1][key + [measure]].rename(columns={measure: "plastic"})
    f = runs[runs.plastic == 0][key + [measure]].rename(columns={measure: "frozen"})
    out = p.merge(f, on=key, how="outer", validate="one_to_one", indicator=True)
    if (out["_merge"] != "both").any():
        bad = out[out["_merge"] != "both"].iloc[0]
        raise ValueError(f"learn: run {dict(bad[key])} has no {'frozen' if bad['_merge'] == 'left_only' else 'plastic'} "
                         f"partner (plastic and frozen runs pair by network and seed id)")
    out = out.drop(columns="_merge")
    out["effect"] = out["plastic"] - out["frozen"]
    return out


def network_effects(runs: pd.DataFrame, protocol: str, n_permutations: int, fdr_alpha: float = 0.05) -> pd.DataFrame:
    """Per network and measure: mean plastic, frozen, effect, its CI and the sign-flip p over seeds."""
    rows = []
    for measure in MEASURES[protocol]:
        pr = paired_runs(runs, measure)
        for (atlas, fam, ni), g in pr.groupby(["atlas", "family", "null_index"], sort=True):
            t = sign_flip_test(g["effect"].to_numpy(), n_permutations)
            m, lo, hi = mean_ci(g["effect"].to_numpy())
            rows.append(dict(atlas=atlas, family=fam, null_index=int(ni), protocol=protocol, measure=measure,
                             primary=measure == PRIMARY[protocol], n_seeds=t["n"],
                             plastic=g["plastic"].mean(), frozen=g["frozen"].mean(), effect=t["mean"],
                             ci_low=float(lo), ci_high=float(hi), p_signflip=t["p"], exact=t["exact"]))
    out = pd.DataFrame(rows)
    real = out.family == "real"
    out["q_signflip"] = np.nan
    if real.any():   # the real network's tests, one family (measures of this protocol)
        out.loc[real, "q_signflip"] = bh_fdr(out.loc[real, "p_signflip"].to_numpy(), fdr_alpha)[0]
    return out


def real_vs_nulls(effects: pd.DataFrame, fdr_alpha: float = 0.05) -> pd.DataFrame:
    """The real network's mean effect against each null family's (network as unit): empirical p
    (+1 corrected, two-sided), BH over every (measure, family) test of the table."""
    rows = []
    for (protocol, measure), g in effects.groupby(["protocol", "measure"], sort=False):
        real = g[g.family == "real"]
        if real.empty:
            continue
        rv = float(real["effect"].iloc[0])
        for fam, h in g[g.family != "real"].groupby("family"):
            e = empirical_p(rv, h["effect"].to_numpy())
            rows.append(dict(protocol=protocol, measure=measure, primary=bool(real["primary"].iloc[0]), family=fam,
                             real_effect=rv, null_mean=float(h["effect"].mean()), null_sd=float(h["effect"].std(ddof=1)),
                             n_nulls=int(len(h)), p_two=e["p_two"], p_greater=e["p_greater"], p_less=e["p_less"],
                             min_p=1.0 / (len(h) + 1)))
    out = pd.DataFrame(rows)
    if len(out):
        out["q"] = bh_fdr(out["p_two"].to_numpy(), fdr_alpha)[0]
        out["significant"] = out["q"] <= fdr_alpha
    return out
