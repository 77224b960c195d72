"""The run's summary page: the question, the design and what it can detect, the headline numbers
beside their baselines and nulls, what survived FDR, regime flags, and links to every stage's tables.

Built only from the tables a run wrote (``results/...``) and the resolved config: nothing here is
computed anew except counts and the design arithmetic (smallest attainable p). Tables change as the
project grows, so every section reads what exists and says "not available in this run" for a missing
table or column; a section never stops the page from being written.

Entry point: :func:`write_summary` (the workflow's ``summary_page`` rule calls it). It writes a
self-contained HTML page (embedded in ``snakemake --report`` under "0 Summary") and, beside it, a
tidy ``headline.tsv`` holding every number the page quotes (section, atlas, model, item, value).
"""
from __future__ import annotations

import glob
import html
import logging
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from encephagen.analysis.methods import config_value
from encephagen.analysis.run import read_table
from encephagen.io.tables import write_text

log = logging.getLogger(__name__)

__all__ = ["collect_summary", "copy_tables", "render_html", "write_summary", "NOT_AVAILABLE"]

NOT_AVAILABLE = "not available in this run"
QUESTION = (
    "How much of the brain's functional organisation follows from the structural connectome's topology? "
    "Each atlas's real connectome is simulated beside null connectomes that keep some of its properties "
    "(degree sequence, strengths, weights, geometry) and randomise the rest. Real and nulls get identical "
    "treatment (same models, couplings G, noise seeds, analysis); a metric that the real network shows "
    "and a null family does not depends on what that family randomises.")


# ----------------------------------------------------------------------------- reading helpers
def _read(path: str | os.PathLike) -> pd.DataFrame | None:
    p = Path(path)
    if not p.exists():
        return None
    try:
        return read_table(p)
    except Exception as exc:  # a table that does not parse is reported, not fatal
        log.warning("summary: cannot read %s: %s", p, exc)
        return None


def _ids(path: Path, root: Path) -> dict:
    """atlas / model wildcards from a path such as stats/atlas-X/model-Y/..."""
    out = {}
    for part in path.relative_to(root).parts:
        for key in ("atlas", "model", "null"):
            if part.startswith(key + "-"):
                out[key] = part[len(key) + 1:]
    return out


def _glob(root: Path, pattern: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(root / pattern)))


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    v = _num(x)
    if isinstance(x, str) and not np.isfinite(v):
        return x
    if not np.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e6:
        return f"{v:.{max(digits - 1, 1)}e}"
    if abs(v) >= 10 ** digits:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"  # significant digits


# ----------------------------------------------------------------------------- collection
class _Summary:
    """Sections of the page: ordered (title, blocks); blocks are ('p', text), ('table', DataFrame),
    ('note', text), ('links', [(label, relpath)]). Every quoted number also goes to ``rows``."""

    def __init__(self):
        self.sections: list[tuple[str, list]] = []
        self.rows: list[dict] = []

    def section(self, title: str) -> list:
        blocks: list = []
        self.sections.append((title, blocks))
        return blocks

    def quote(self, section: str, item: str, value, atlas: str = "", model: str = "", detail: str = ""):
        self.rows.append({"section": section, "atlas": atlas, "model": model, "item": item,
                          "value": value, "detail": detail})
        return value


def _design(s: _Summary, root: Path, cfg: Mapping) -> None:
    b = s.section("Design: size and what it can detect")
    # explicit paths of the validated config (encephagen.analysis.methods.config_value), never a key-name search
    alpha = _num(config_value(cfg, "analysis.fdr_alpha", 0.05))
    n = config_value(cfg, "nulls.n_per_family")
    atlases = list(config_value(cfg, "atlases") or [])
    fams = list(config_value(cfg, "nulls.families") or [])
    seeds = config_value(cfg, "simulate.seeds_per_network")
    model = config_value(cfg, "simulate.model", NOT_AVAILABLE)
    G = config_value(cfg, "simulate.G")
    hg = config_value(cfg, "hopf.G")
    rows = [("atlases", ", ".join(atlases) or NOT_AVAILABLE),
            ("null families", ", ".join(fams) or NOT_AVAILABLE),
            ("nulls per family (configured)", n if n is not None else NOT_AVAILABLE),
            ("noise seeds per network (real and every null)", seeds if seeds is not None else NOT_AVAILABLE),
            ("simulated model", ", ".join(map(str, model)) if isinstance(model, list)
             else model),   # simulate.model may list several models
            ("simulated G values", ", ".join(_fmt(g) for g in G) if isinstance(G, list) else
             (str(G) if G is not None else NOT_AVAILABLE)),
            ("analytic Hopf G grid", f"{hg.get('num')} values, {_fmt(hg.get('start'))} to {_fmt(hg.get('stop'))} "
             f"({hg.get('spacing', '')})" if isinstance(hg, Mapping) else NOT_AVAILABLE),
            ("FDR level alpha", _fmt(alpha))]
    for k, v in rows:
        s.quote("design", k, v)
    b.append(("table", pd.DataFrame(rows, columns=["setting", "value"])))
    if isinstance(n, (int, float)) and n > 0:
        pmin = 1.0 / (n + 1)
        s.quote("design", "smallest attainable p (one-sided, N nulls)", pmin)
        txt = (f"With N = {int(n)} nulls per family the smallest attainable p is 1/(N+1) = {_fmt(pmin)}: "
               f"a real value beyond every null of a family. ")
        txt += ("That is below alpha, so an effect can reach FDR significance when several tests are that extreme; "
                if pmin <= alpha else
                "That is ABOVE alpha = " + _fmt(alpha) + ": no test of this design can reach FDR significance "
                "(the study needs at least " + str(int(math.ceil(1 / alpha)) - 1) + " nulls per family). ")
        b.append(("p", txt))
    # realised design per atlas/model: tests per study, realised nulls, what one isolated effect needs
    rows = []
    for p in _glob(root, "stats/atlas-*/model-*/network_stats.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        ids = _ids(p, root)
        m = len(t)
        nn = pd.to_numeric(t["n_nulls"], errors="coerce") if "n_nulls" in t.columns else pd.Series(dtype=float)
        nmin = int(nn.min()) if nn.notna().any() else None
        pfloor = 1.0 / (nmin + 1) if nmin is not None else math.nan
        reg = _read(p.with_name("regional_stats.tsv.gz"))
        mreg = len(reg) if reg is not None else 0
        fams_run = sorted(set(t["family"])) if "family" in t.columns else []
        need = alpha / m if m else math.nan
        rows.append({"atlas": ids.get("atlas", ""), "model": ids.get("model", ""),
                     "families run": ", ".join(fams_run), "fewest nulls in a test": nmin if nmin is not None else "n/a",
                     "smallest p": pfloor, "network-level tests": m, "regional tests": mreg,
                     "p one isolated effect needs (alpha/m)": need,
                     "isolated effect detectable": bool(np.isfinite(pfloor) and pfloor <= need)})
        for k in ("smallest p", "network-level tests", "regional tests"):
            s.quote("design", k, rows[-1][k], ids.get("atlas", ""), ids.get("model", ""))
    if rows:
        b.append(("p", "Per atlas and model: the number of tests the FDR correction runs over and what a single "
                       "effect would need. Benjamini-Hochberg lets one isolated effect through only at p <= alpha/m; "
                       "many equally extreme effects can each reach q = p."))
        b.append(("table", pd.DataFrame(rows)))
    skipped = []
    for p in _glob(root, "aggregate/atlas-*/model-*/skipped_families.tsv"):
        t = _read(p)
        if t is not None and len(t) and "family" in t.columns:
            ids = _ids(p, root)
            why = t["reason"].astype(str).iloc[0] if "reason" in t.columns else ""
            for fam in sorted(set(t["family"])):
                skipped.append({"atlas": ids.get("atlas", ""), "model": ids.get("model", ""), "family": fam,
                                "reason": why})
    if skipped:
        b.append(("p", "Null families refused on a connectome (recorded, never replaced by copies):"))
        b.append(("table", pd.DataFrame(skipped).drop_duplicates()))


def _baselines(root: Path) -> pd.DataFrame | None:
    return _read(root / "baselines" / "sc_fc.tsv")


def _heldout(s: _Summary, root: Path, cfg: Mapping) -> None:
    b = s.section("Headline: held-out FC of the real network vs SC-only baselines vs nulls")
    b.append(("p", "r between model FC and the HELD-OUT group's empirical FC, with G chosen on the training "
                   "group. SC-only baselines: how well the structural weights themselves (raw or log10) predict "
                   "the same FC with no model. Nulls: each null network at its own best G; p is the fraction of "
                   "nulls at least as good as the real network (smallest attainable 1/(N+1))."))
    base = _baselines(root)
    rows = []
    # analytic Hopf
    for p in _glob(root, "hopf/atlas-*/heldout_vs_nulls.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        rows += _fit_rows(t, _ids(p, root).get("atlas", ""), "hopf (analytic, linearised)", base, s,
                          networks=_read(p.with_name("networks.tsv")))
    # simulated models
    for p in _glob(root, "stats/atlas-*/model-*/fc_fit_summary.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        ids = _ids(p, root)
        rows += _fit_rows(t, ids.get("atlas", ""), f"{ids.get('model', '')} (simulated)", base, s,
                          networks=_read(p.with_name("fc_fit_networks.tsv")))
    if rows:
        b.append(("table", pd.DataFrame(rows)))
    else:
        b.append(("note", "held-out FC fits: " + NOT_AVAILABLE + " (no results/hopf/*/heldout_vs_nulls.tsv and no "
                          "results/stats/*/fc_fit_summary.tsv)"))
    # simulated vs analytic Hopf agreement (tables named *analytic* or *sim_vs* under results/hopf)
    extra = [p for p in _glob(root, "hopf/**/*.tsv") if any(k in p.name for k in ("analytic", "sim_vs", "vs_sim"))]
    extra += [p for p in _glob(root, "hopf/atlas-*/*/*.tsv") if any(k in p.name for k in ("analytic", "sim_vs"))]
    extra = sorted(set(extra))
    if extra:
        for p in extra:
            t = _read(p)
            if t is not None and len(t):
                b.append(("p", f"Simulated vs analytic Hopf FC ({p.relative_to(root)}):"))
                b.append(("table", t.head(40)))
    else:
        b.append(("note", "simulated vs analytic Hopf FC comparison: " + NOT_AVAILABLE))
    if base is not None and len(base):
        cols = [c for c in ("connectome", "fc_dataset", "n_regions", "n_pairs", "pearson_raw", "pearson_log10",
                            "spearman_raw", "spearman_log10", "note") if c in base.columns]
        b.append(("p", "SC-only baselines (results/baselines/sc_fc.tsv), each connectome against its own group FC:"))
        b.append(("table", base[cols] if cols else base))
    else:
        b.append(("note", "SC-only baselines table: " + NOT_AVAILABLE))


def _fit_rows(t: pd.DataFrame, atlas: str, model: str, base: pd.DataFrame | None, s: _Summary,
              networks: pd.DataFrame | None = None) -> list[dict]:
    out = []
    edge = NOT_AVAILABLE
    if networks is not None and {"family", "at_sweep_edge"} <= set(networks.columns):
        rr = networks[networks["family"].astype(str) == "real"]
        if len(rr):
            edge = str(rr["at_sweep_edge"].iloc[0]).lower() in ("true", "1")
    col = next((c for c in ("real_test_pearson", "real_r_test", "real_test_r") if c in t.columns), None)
    fam_col = "family" if "family" in t.columns else None
    if col is None:
        return [{"atlas": atlas, "model": model, "real held-out r": NOT_AVAILABLE}]
    real_r = _num(t[col].iloc[0])
    bestg = next((c for c in t.columns if c.startswith("real_best_")), None)
    test = str(t["test"].iloc[0]) if "test" in t.columns else ""
    train = str(t["train"].iloc[0]) if "train" in t.columns else ""
    sc = {}
    for c in t.columns:  # the fit's measure (Pearson) only: a Spearman baseline is not on this scale
        if c.startswith("sc_") and c.endswith("_pearson"):
            sc[c[3:]] = _num(t[c].iloc[0])
    if not sc and base is not None and test and "fc_dataset" in base.columns:
        bb = base[base["fc_dataset"].astype(str) == test]
        if len(bb):
            sc = {k: _num(bb[c].iloc[0]) for k, c in (("log_pearson", "pearson_log10"), ("raw_pearson", "pearson_raw"))
                  if c in bb.columns}
    s.quote("headline", "real held-out r", real_r, atlas, model, f"{train} -> {test}")
    for k, v in sc.items():
        s.quote("headline", f"SC-only baseline {k}", v, atlas, model, test)
    for _, r in (t.iterrows() if fam_col else [(0, t.iloc[0])]):
        row = {"atlas": atlas, "model": model, "train -> test": f"{train} -> {test}", "real held-out r": real_r,
               "best G (train)": _num(r[bestg]) if bestg else math.nan,
               "best G at the sweep's edge": edge}
        for k, v in sc.items():
            row[f"SC-only {k}"] = v
        fam = str(r[fam_col]) if fam_col else ""
        row["null family"] = fam
        for name, cands in (("null median r", ("null_test_pearson_median", "null_median_test_pearson", "null_median")),
                            ("null 95% range", ("null_test_pearson_q025", "null_q025")),
                            ("p (nulls >= real)", ("p_greater_pearson", "p_greater_test_pearson", "p_greater")),
                            ("z", ("z_pearson", "z")),
                            ("q", ("q_pearson", "q_study", "q_table", "q")),
                            ("N nulls", ("n_nulls",))):
            c = next((c for c in cands if c in t.columns), None)
            row[name] = r[c] if c is not None else NOT_AVAILABLE
            if name == "null 95% range" and c is not None:
                hi = next((h for h in ("null_test_pearson_q975", "null_q975") if h in t.columns), None)
                row[name] = f"{_fmt(r[c])} to {_fmt(r[hi]) if hi else 'n/a'}"
        if "verdict" in t.columns:
            row["verdict"] = r["verdict"]
        above = [k for k, v in sc.items() if np.isfinite(v) and "pearson" in k]
        if above and np.isfinite(real_r):
            row["above SC-only (pearson)"] = all(real_r > sc[k] for k in above)
        s.quote("headline", f"null median r ({fam})", row["null median r"], atlas, model)
        s.quote("headline", f"p vs {fam} nulls", row["p (nulls >= real)"], atlas, model)
        out.append(row)
    return out


def _fdr(s: _Summary, root: Path, cfg: Mapping) -> None:
    b = s.section("What survived FDR")
    alpha = _num(config_value(cfg, "analysis.fdr_alpha", 0.05))
    rows = []
    for name in ("network_stats.tsv", "regional_stats.tsv.gz"):
        for p in _glob(root, f"stats/atlas-*/model-*/{name}"):
            t = _read(p)
            if t is None or t.empty or "family" not in t.columns:
                continue
            ids = _ids(p, root)
            level = "network" if name.startswith("network") else "regional"
            qcols = [c for c in ("q_study", "q", "q_table") if c in t.columns]
            for fam, g in t.groupby("family", sort=True):
                row = {"atlas": ids.get("atlas", ""), "model": ids.get("model", ""), "level": level,
                       "family": fam, "tests": len(g)}
                for qc in qcols:
                    q = pd.to_numeric(g[qc], errors="coerce")
                    row[f"{qc} < {_fmt(alpha)}"] = int((q < alpha).sum())
                if not qcols and "significant" in g.columns:
                    row["significant"] = int(g["significant"].astype(str).str.lower().isin(["true", "1"]).sum())
                if "n_censored" in g.columns:
                    row["censored nulls"] = int(pd.to_numeric(g["n_censored"], errors="coerce").fillna(0).sum())
                elif "n_nulls_nan" in g.columns:
                    row["NaN nulls"] = int(pd.to_numeric(g["n_nulls_nan"], errors="coerce").fillna(0).sum())
                rows.append(row)
                key = "q_study" if "q_study" in qcols else (qcols[0] if qcols else "significant")
                s.quote("fdr", f"{level} tests surviving ({key}) vs {fam}",
                        row.get(f"{key} < {_fmt(alpha)}", row.get("significant", NOT_AVAILABLE)),
                        ids.get("atlas", ""), ids.get("model", ""), f"of {len(g)}")
    if rows:
        b.append(("p", f"Counts of tests with FDR q below alpha = {_fmt(alpha)} per atlas, model and null family "
                       "(q_study: one correction over the whole study of an atlas and model; q / q_table: within "
                       "one table's scope)."))
        b.append(("table", pd.DataFrame(rows)))
    else:
        b.append(("note", "statistics tables (results/stats/*/network_stats.tsv): " + NOT_AVAILABLE))
    # the significant effects themselves, largest first
    eff = []
    for p in _glob(root, "stats/atlas-*/model-*/network_stats.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        qc = next((c for c in ("q_study", "q") if c in t.columns), None)
        if qc is None:
            continue
        ids = _ids(p, root)
        sig = t[pd.to_numeric(t[qc], errors="coerce") < alpha].copy()
        if sig.empty:
            continue
        for k, col in enumerate(("atlas", "model")):
            if col not in sig.columns:
                sig.insert(k, col, ids.get(col, ""))
        keep = [c for c in ("atlas", "model", "G", "metric", "family", "real_value", "null_mean", "z", "cohen_d",
                            qc, "verdict") if c in sig.columns]
        if "z" in sig.columns:
            sig = sig.reindex(sig["z"].abs().sort_values(ascending=False).index)
        eff.append(sig[keep].head(15))
    if eff:
        b.append(("p", "The largest FDR-significant network-level effects (by |z|):"))
        b.append(("table", pd.concat(eff, ignore_index=True)))
    # decomposition verdicts
    ver = []
    for p in _glob(root, "stats/atlas-*/model-*/decomposition.tsv"):
        t = _read(p)
        if t is None or t.empty or "verdict" not in t.columns:
            continue
        ids = _ids(p, root)
        c = t["verdict"].astype(str).value_counts()
        for v, k in c.items():
            ver.append({"atlas": ids.get("atlas", ""), "model": ids.get("model", ""), "verdict": v, "metrics": int(k)})
    if ver:
        b.append(("p", "Decomposition verdicts (metric x G rows per verdict):"))
        b.append(("table", pd.DataFrame(ver)))
    # T1w/T2w
    tt = []
    for p in _glob(root, "stats/atlas-*/model-*/t1t2.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        ids = _ids(p, root)
        keep = [c for c in ("G", "metric", "reference", "rho", "p_two", "q", "n_reference") if c in t.columns]
        if "metric" in t.columns:  # the time scale is the hierarchy metric; the table holds every metric
            ts = t[t["metric"].astype(str).isin(["acf_tau_ms", "acf_timescale"])]
            t = ts if len(ts) else t
        tt.append(t[keep].assign(atlas=ids.get("atlas", ""), model=ids.get("model", ""))[["atlas", "model"] + keep])
    if tt:
        b.append(("p", "Regional time scale vs T1w/T2w (Spearman rho of the real network, p against each reference; "
                       "every metric is in the t1t2.tsv tables):"))
        b.append(("table", pd.concat(tt, ignore_index=True).head(40)))


def _regimes(s: _Summary, root: Path) -> None:
    b = s.section("Regime flags")
    found = False
    for p in _glob(root, "aggregate/atlas-*/model-*/network.tsv.gz"):
        t = _read(p)
        if t is None or t.empty:
            continue
        ids = _ids(p, root)
        cols = [c for c in t.columns if "regime" in c or c in ("flag", "flags", "real_flag")]
        if not cols:
            continue
        found = True
        real = t[t["family"].astype(str) == "real"] if "family" in t.columns else t
        pc = [c for c in ("G",) if c in real.columns]
        for c in cols:
            cnt = real.drop_duplicates([x for x in ("null_index", "seed_id", *pc) if x in real.columns] + [c])
            tab = cnt.groupby(pc + [c], dropna=False).size().rename("runs").reset_index() if pc else \
                cnt.groupby(c, dropna=False).size().rename("runs").reset_index()
            tab.insert(0, "atlas", ids.get("atlas", ""))
            tab.insert(1, "model", ids.get("model", ""))
            b.append(("p", f"Real network, column {c!r}:"))
            b.append(("table", tab))
            bad = tab[tab[c].astype(str).str.contains("satur|silent|diverg", case=False, na=False)]
            s.quote("regime", f"real runs flagged ({c})", int(bad["runs"].sum()) if len(bad) else 0,
                    ids.get("atlas", ""), ids.get("model", ""))
    for p in _glob(root, "stats/atlas-*/model-*/network_stats.tsv"):
        t = _read(p)
        if t is None or t.empty:
            continue
        cols = [c for c in t.columns if c in ("real_regime", "flag", "real_flag")]
        if cols:
            found = True
            ids = _ids(p, root)
            pc = [c for c in ("G",) if c in t.columns]
            tab = t.drop_duplicates(pc + cols)[pc + cols]
            b.append(("p", f"{ids.get('atlas', '')} / {ids.get('model', '')}: regime of the real network per G "
                           "(statistics table):"))
            b.append(("table", tab))
    if not found:
        b.append(("note", "regime classification (saturated / silent / oscillating per network): " + NOT_AVAILABLE))


def _links(s: _Summary, root: Path, here: Path) -> None:
    b = s.section("Tables of each stage")
    stages = [("SC-only baselines", "baselines/*.tsv"), ("Null connectome properties", "nulls/**/*.tsv"),
              ("Analytic Hopf", "hopf/atlas-*/*.tsv*"), ("Aggregated simulations", "aggregate/atlas-*/model-*/*.tsv*"),
              ("Statistics", "stats/atlas-*/model-*/*.tsv*"), ("Figures", "figures/atlas-*/*/*.pdf")]
    for title, pat in stages:
        files = sorted(set(_glob(root, pat)))
        if not files:
            b.append(("note", f"{title}: {NOT_AVAILABLE}"))
            continue
        b.append(("links", title, [(str(p.relative_to(root)), os.path.relpath(p, here)) for p in files]))


def collect_summary(results_dir: str | os.PathLike, config: Mapping | None = None, *,
                    page_dir: str | os.PathLike | None = None) -> _Summary:
    """Read every table of a run under ``results_dir`` and build the page's sections."""
    root = Path(results_dir)
    cfg = dict(config or {})
    s = _Summary()
    s.section("The question").append(("p", QUESTION))
    for fn, title in ((_design, "Design"), (_heldout, "Headline"), (_fdr, "What survived FDR")):
        try:
            fn(s, root, cfg)
        except Exception as exc:  # one broken section must not hide the others; the error is shown
            log.exception("summary section %s failed", fn.__name__)
            s.section(f"{title} (section failed)").append(("note", f"section failed: {exc}"))
    try:
        _regimes(s, root)
    except Exception as exc:
        log.exception("summary regimes failed")
        s.section("Regime flags").append(("note", f"section failed: {exc}"))
    _links(s, root, Path(page_dir) if page_dir else root)
    return s


# ----------------------------------------------------------------------------- rendering
_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.2em;max-width:1200px;
color:#222;font-size:14px}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:12.5px}td,th{border:1px solid #ddd;padding:2px 6px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#8a6d3b;
background:#fcf8e3;padding:4px 8px;border-left:3px solid #e0c36a}ul.links{columns:2;font-size:12.5px}"""


def _cell(v) -> str:
    return html.escape(_fmt(v) if not isinstance(v, str) else v)


def _table_html(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(s: _Summary, title: str = "encephagen: summary of this run") -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    for i, (sec, blocks) in enumerate(s.sections):
        parts.append(f"<h2 id='s{i}'>{html.escape(sec)}</h2>")
        for blk in blocks:
            kind = blk[0]
            if kind == "p":
                parts.append(f"<p>{html.escape(blk[1])}</p>")
            elif kind == "note":
                parts.append(f"<p class='note'>{html.escape(blk[1])}</p>")
            elif kind == "table":
                parts.append(_table_html(blk[1]))
            elif kind == "links":
                items = "".join(f"<li><a href='{html.escape(href)}'>{html.escape(lab)}</a></li>" for lab, href in blk[2])
                parts.append(f"<p><b>{html.escape(blk[1])}</b></p><ul class='links'>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _atomic_write(path: Path, text: str) -> None:
    write_text(path, text)


def copy_tables(results_dir: str | os.PathLike, out_dir: str | os.PathLike,
                exclude: Iterable[str] = ("summary",)) -> list[Path]:
    """Copy every uncompressed ``*.tsv`` under ``results_dir`` (outside ``exclude`` folders) into
    ``out_dir`` as ``<path with / as __>.tsv`` (the report's result tables)."""
    import shutil

    root, out_dir = Path(results_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for p in sorted(root.rglob("*.tsv")):
        rel = p.relative_to(root)
        if rel.parts[0] in set(exclude) or any(part.startswith(".") for part in rel.parts):
            continue
        dst = out_dir / ("__".join(rel.parts))
        shutil.copyfile(p, dst)
        done.append(dst)
    return done


def write_summary(results_dir: str | os.PathLike, out_html: str | os.PathLike, config: Mapping | None = None, *,
                  out_tsv: str | os.PathLike | None = None, tables_dir: str | os.PathLike | None = None) -> _Summary:
    """Write the summary page (HTML); with ``out_tsv`` every number it quotes as a tidy table; with
    ``tables_dir`` a copy of every result table (:func:`copy_tables`)."""
    out_html = Path(out_html)
    if tables_dir is not None:
        copy_tables(results_dir, tables_dir, exclude=(Path(out_html).parent.name,))
    s = collect_summary(results_dir, config, page_dir=out_html.parent)
    _atomic_write(out_html, render_html(s))
    if out_tsv is not None:
        rows = pd.DataFrame(s.rows, columns=["section", "atlas", "model", "item", "value", "detail"])
        rows["value"] = rows["value"].map(lambda v: _fmt(v, 6) if not isinstance(v, str) else v)
        _atomic_write(Path(out_tsv), rows.to_csv(sep="\t", index=False))
    return s

