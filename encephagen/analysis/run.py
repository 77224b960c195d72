"""File-level entry points for the workflow's statistics and figure rules (one call per script).

Tables are read from TSV/CSV (optionally .gz) or Parquet and written as TSV atomically (temporary name
+ ``os.replace``), so a killed job never leaves a partial table at the final path.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.analysis.decompose import decompose, keeps_all_edges_from_properties
from encephagen.analysis.fc import fit_curve, fit_g
from encephagen.analysis.hierarchy import class_summary, class_table, silencing_order, t1t2_correlation
from encephagen.analysis.stats import add_fdr, compare_to_nulls, real_regimes
from encephagen.analysis.tables import TableError, apply_censoring, regional_to_network
from encephagen.connectome import Connectome
from encephagen.io.tables import read_tsv  # names the file (a 0-byte table too)
from encephagen.io.tables import write_table as _write  # atomic; .gz with a fixed header

# metrics whose NaN means "longer than the record" (config analysis.censored_metrics default)
DEFAULT_CENSORED = {"acf_tau_ms": "high", "acf_timescale": "high"}

log = logging.getLogger(__name__)

__all__ = ["read_table", "write_table", "run_statistics", "run_fc_fit", "run_t1t2", "run_silencing", "fc_fit_fdr",
           "t1t2_fdr", "hopf_fdr", "DEFAULT_CENSORED"]


def read_table(path_or_df) -> pd.DataFrame:
    """A DataFrame as is, or a table file (.tsv/.tsv.gz/.csv/.csv.gz/.parquet), naming the file on error."""
    if isinstance(path_or_df, pd.DataFrame):
        return path_or_df
    p = Path(path_or_df)
    if not p.exists():
        raise FileNotFoundError(f"table {p} does not exist")
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(p)
        sep = "," if ".csv" in name else "\t"
        with open(p, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"   # trust the bytes, not the name (a .gz may be plain text)
        return pd.read_csv(p, sep=sep, compression="gzip" if gz else None)
    except Exception as exc:  # noqa: BLE001
        raise TableError(f"{p}: cannot be read as a table: {exc}") from exc


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as TSV (gzip when the name ends in .gz) atomically."""
    return _write(df, path)


def run_statistics(network, regional=None, *, out: Mapping[str, str | os.PathLike], fdr_alpha: float = 0.05,
                   min_nulls: int = 10, equivalence_margin: float = 2.0, fdr_scope: str = "study",
                   include_degenerate: bool = False, censored_metrics: Mapping[str, str] | None = None,
                   profile_rho_min: float = 0.8, null_properties=None, atlas: str | None = None,
                   class_contrasts: Sequence[tuple[str, str]] = ()) -> dict[str, Path]:
    """Real vs null statistics, decomposition and class summaries for the aggregated tables.

    ``out`` keys (each optional; only the ones given are written): ``network_stats``,
    ``regional_stats``, ``decomposition``, ``class_summary``. Regional metrics also enter the
    network-level statistics as their mean over regions (``<metric>_mean_over_regions``), their
    region-class means (``<metric>[<class>]``) and the ``class_contrasts`` (``<metric>[<a> - <b>]``).
    ``censored_metrics`` (metric -> 'high'|'low'; default :data:`DEFAULT_CENSORED`): NaN of those
    metrics is a censored extreme (:func:`encephagen.analysis.tables.apply_censoring`), applied before
    any mean over regions. ``null_properties``: the nulls stage's property table (a path or
    DataFrame), from which the decomposition learns whether the real graph is complete (every
    family then keeps every edge: the verdict speaks of weight arrangement).
    """
    cens = DEFAULT_CENSORED if censored_metrics is None else dict(censored_metrics)
    net = apply_censoring(read_table(network), cens, name="network table")
    reg = apply_censoring(read_table(regional), cens, name="regional table") if regional is not None else None
    regimes = real_regimes(net, name="network table")
    if regimes is None:
        log.info("statistics: the network table has no 'regime' column: real-network regime unknown")
    if reg is not None and not reg.empty:
        net = pd.concat([net, regional_to_network(reg), class_table(reg, contrasts=class_contrasts)],
                        ignore_index=True)
    written: dict[str, Path] = {}
    log.info("statistics: %d network rows, %s regional rows", len(net), "no" if reg is None else len(reg))
    kw = dict(min_nulls=min_nulls, fdr_alpha=fdr_alpha, fdr_scope=fdr_scope, equivalence_margin=equivalence_margin,
              regimes=regimes, include_degenerate=include_degenerate)
    st = compare_to_nulls(net, name="network table", **kw)
    if "network_stats" in out:
        written["network_stats"] = write_table(st, out["network_stats"])
    rst = None
    if reg is not None and not reg.empty:
        rst = compare_to_nulls(reg, name="regional table", **kw)
        if "regional_stats" in out:
            written["regional_stats"] = write_table(rst, out["regional_stats"])
        if "class_summary" in out:
            written["class_summary"] = write_table(class_summary(reg), out["class_summary"])
    if "decomposition" in out:
        keep, complete = None, None
        if null_properties is not None:
            props = read_table(null_properties)
            if atlas is None and "atlas" in st.columns and st["atlas"].nunique() == 1:
                atlas = str(st["atlas"].iloc[0])
            keep, complete = keeps_all_edges_from_properties(props, atlas=atlas)
            log.info("decomposition: real graph %s; families keeping every edge: %s",
                     "complete (density 1)" if complete else "not complete",
                     sorted(f for f, k in keep.items() if k))
        d = decompose(st, keeps_all_edges=keep, complete=complete, regional=reg, regional_stats=rst,
                      profile_rho_min=profile_rho_min)
        written["decomposition"] = write_table(d, out["decomposition"])
    n_sig = int(st["significant"].sum())
    log.info("statistics: %d of %d real-vs-family tests significant at FDR %.3g (%s); %d excluded (degenerate "
             "real network)", n_sig, len(st), fdr_alpha, st["fdr_scope"].iloc[0] if len(st) else "-",
             int(st["outcome"].eq("excluded").sum()))
    return written


FC_FIT_PCOLS = ("p_greater_pearson", "p_greater_spearman", "p_two_pearson", "p_two_spearman")


def fc_fit_fdr(summary: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """BH on an FC-fit summary (real vs each null family, held out): every p-value of the table
    (families x {greater, two-sided} x {pearson, spearman}) is one family of tests per (atlas, model);
    ``q_<...>`` beside each ``p_<...>``, ``fdr_scope`` says so."""
    return add_fdr(summary, [c for c in FC_FIT_PCOLS if c in summary.columns], by=("atlas", "model"),
                   alpha=alpha, what="null families and measures of the FC-fit table")


def run_fc_fit(network, *, train: str, test: str, out: Mapping[str, str | os.PathLike],
               baselines: Mapping[str, float] | None = None, param: str = "G", measure: str = "pearson",
               min_nulls: int = 10, fdr_alpha: float = 0.05) -> dict[str, Path]:
    """G chosen on ``train`` FC, r reported on ``test`` FC; outputs ``networks``, ``summary``, ``curve``
    (r vs G on the test FC) and ``curve_train``, whichever keys ``out`` has. The summary's p-values
    are BH-corrected (:func:`fc_fit_fdr`)."""
    net = read_table(network)
    per, summ = fit_g(net, train=train, test=test, param=param, measure=measure, min_nulls=min_nulls,
                      baselines=baselines)
    summ = fc_fit_fdr(summ, alpha=fdr_alpha)
    written = {}
    if "networks" in out:
        written["networks"] = write_table(per, out["networks"])
    if "summary" in out:
        written["summary"] = write_table(summ, out["summary"])
    if "curve" in out:
        written["curve"] = write_table(fit_curve(net, dataset=test, measure=measure, param=param), out["curve"])
    if "curve_train" in out:
        written["curve_train"] = write_table(fit_curve(net, dataset=train, measure=measure, param=param),
                                             out["curve_train"])
    return written


def t1t2_fdr(res: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """BH on a T1w/T2w table: ``q_two`` over every row of one (atlas, model) (metrics x parameter sets x
    references: the spatial/permutation map null and each null family), the primary scope;
    ``q_two_reference`` within one (atlas, model, reference)."""
    if res.empty:
        return res
    per_ref = add_fdr(res, ["p_two"], by=("atlas", "model", "reference"), alpha=alpha, what="rows")
    out = add_fdr(res, ["p_two"], by=("atlas", "model"), alpha=alpha,
                  what="rows (metrics x parameter sets x references)")
    out["q_two_reference"] = per_ref["q_two"].to_numpy()
    out["n_tests_reference"] = per_ref["n_tests_fdr"].to_numpy()
    return out


def run_t1t2(regional, t1t2, *, out: str | os.PathLike, distances: np.ndarray | None = None,
             n_surrogates: int = 1000, seed: int, metrics: Sequence[str] | None = None,
             censored_metrics: Mapping[str, str] | None = None, fdr_alpha: float = 0.05) -> Path:
    """Spearman rho of regional metrics with T1w/T2w (p-values BH-corrected: :func:`t1t2_fdr`). ``t1t2``: a Series by region, or the
    resources/t1t2/{atlas}.tsv table (columns region index + 't1t2'; rows whose status is not 'ok' are
    NaN). ``distances``: an (n, n) array, a connectome file (its ``distances``) or None (permutation
    null, labelled as such)."""
    reg = apply_censoring(read_table(regional), DEFAULT_CENSORED if censored_metrics is None
                          else dict(censored_metrics), name="regional table")
    if not isinstance(t1t2, pd.Series):
        t = t1t2 if isinstance(t1t2, pd.DataFrame) else read_tsv(t1t2, comment="#")
        idx = next((c for c in ("region", "index", "region_index") if c in t.columns), None)
        val = next((c for c in ("t1t2", "value") if c in t.columns), None)
        if idx is None or val is None:
            raise TableError(f"T1w/T2w table needs a region index column and a 't1t2' column; has {list(t.columns)}")
        v = t[val].astype(float)
        if "status" in t.columns:
            v = v.where(t["status"].eq("ok"), np.nan)
        t1t2 = pd.Series(v.to_numpy(dtype=float), index=t[idx].astype(int).to_numpy())
    if distances is not None and not isinstance(distances, np.ndarray):
        c = Connectome.load(distances)   # a connectome file: its region-centre distances, if it has them
        if c.distances is None:
            log.warning("%s has no region distances: T1w/T2w null is a plain permutation", distances)
        distances = c.distances
    res = t1t2_correlation(reg, t1t2, distances=distances, n_surrogates=n_surrogates, seed=seed, metrics=metrics)
    return write_table(t1t2_fdr(res, alpha=fdr_alpha), out)


def run_silencing(regional, *, metric: str, threshold: float, out: Mapping[str, str | os.PathLike],
                  param: str = "G", below: bool = True) -> dict[str, Path]:
    """Silencing order of region classes along ``param``; ``out`` keys ``per_seed`` and ``summary``."""
    reg = read_table(regional)
    per, summ = silencing_order(reg, metric=metric, threshold=threshold, param=param, below=below)
    written = {}
    if "per_seed" in out:
        written["per_seed"] = write_table(per, out["per_seed"])
    if "summary" in out:
        written["summary"] = write_table(summ, out["summary"])
    return written


def hopf_fdr(heldout, insample, *, alpha: float = 0.05) -> dict[str, Path]:
    """BH on the analytic-Hopf study tables (files rewritten in place, atomically): the held-out
    table as :func:`fc_fit_fdr`; the in-sample table's ``p_greater`` and ``p_two`` over its families
    as one family of tests."""
    written = {}
    h = read_table(heldout)
    written["heldout"] = write_table(fc_fit_fdr(h, alpha=alpha), heldout)
    i = read_table(insample)
    written["insample"] = write_table(add_fdr(i, [c for c in ("p_greater", "p_two") if c in i.columns],
                                              by=("atlas", "model"), alpha=alpha,
                                              what="null families of the in-sample table"), insample)
    return written
