"""Atomic PNG + PDF writing for every figure."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from encephagen.io.tables import write_with  # noqa: E402

FORMATS = ("png", "pdf")
FAMILY_COLOURS = {
    "real": "#d62728", "degree": "#1f77b4", "degree_connected": "#17becf", "strength": "#2ca02c",
    "er": "#7f7f7f", "weight_perm": "#9467bd", "richclub": "#ff7f0e", "geometry": "#8c564b",
}
_CYCLE = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def family_colour(family: str, i: int = 0) -> str:
    return FAMILY_COLOURS.get(family, _CYCLE[i % len(_CYCLE)])


def save_figure(fig, stem: str | os.PathLike, dpi: int = 150) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf``, each under a temporary name then ``os.replace``'d.

    The figure is closed afterwards. Returns the final paths.
    """
    stem = Path(stem)
    if stem.suffix.lower() in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    try:
        for fmt in FORMATS:
            final = stem.with_name(f"{stem.name}.{fmt}")
            write_with(final, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))
            out.append(final)
    finally:
        plt.close(fig)
    return out
