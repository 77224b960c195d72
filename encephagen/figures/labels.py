"""Axis and panel labels: the words and units a reader needs instead of variable names."""
from __future__ import annotations

import re

__all__ = ["label", "LABELS"]

LABELS = {
    "G": "global coupling G",
    "acf_tau_ms": "autocorrelation time (ms)",
    "acf_timescale": "autocorrelation time (ms)",
    "dominant_freq_hz": "dominant frequency (Hz)",
    "peak_frequency": "peak frequency (Hz)",
    "mean": "mean activity (model units)",
    "var": "activity variance (model units squared)",
    "rms": "RMS activity (model units)",
    "silenced": "fraction of time silenced",
    "rate": "firing rate (Hz)",
    "rate_e": "excitatory firing rate (Hz)",
    "rate_i": "inhibitory firing rate (Hz)",
    "synchrony": "synchrony (Kuramoto order parameter)",
    "fc_mean": "mean FC (Pearson r)",
    "fc_sd": "FC standard deviation (Pearson r)",
    "fc_bold": "BOLD FC (Pearson r)",
    "fc_activity": "activity FC (Pearson r)",
    "fc_rate": "rate FC (Pearson r)",
    "mean_strength": "mean node strength (connectome weight units)",
    "bias": "bias of the bifurcation parameter a_j",
    "scale_relative": "relative scale s (a_j = bias (1 - s map_j))",
    "t1t2": "T1w/T2w (myelin proxy, a.u.)",
}

_SUFFIX = {"_mean": "mean of ", "_sd": "SD of ", "_std": "SD of ", "_median": "median of ", "_cv": "CV of "}


def label(name: str) -> str:
    """A readable label with units for a variable / metric name; names not listed get their
    underscores replaced (a sentence already written for readers passes through)."""
    name = str(name)
    if name in LABELS:
        return LABELS[name]
    m = re.fullmatch(r"(.+?)(_mean_over_regions)?\[(.+)\]", name) or re.fullmatch(r"(.+?)(_mean_over_regions)", name)
    if m and m.group(1) in LABELS:  # regional metric summarised over regions / per region class
        where = f" [{m.group(3)}]" if m.lastindex and m.lastindex >= 3 and m.group(3) else ""
        over = ", mean over regions" if m.group(2) else ""
        return f"{LABELS[m.group(1)]}{over}{where}"
    for suf, pre in _SUFFIX.items():
        if name.endswith(suf) and name[: -len(suf)] in LABELS:
            return pre + LABELS[name[: -len(suf)]]
    m = re.fullmatch(r"r_(pearson|spearman)_(.+)", name)
    if m:
        return f"{m.group(1).capitalize()} r with {m.group(2)} FC"
    if " " in name:
        return name
    return name.replace("_", " ")
