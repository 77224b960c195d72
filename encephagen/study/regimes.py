"""The regime datasets of a run file (:mod:`encephagen.sim.regime` decides the regimes from arrays;
this writes them through the file layer, for every engine that writes runs)."""
from __future__ import annotations

import numpy as np

from encephagen.io import write_array
from encephagen.sim.regime import LEGEND, REGIMES, RULE, network_regime, regime_fraction

__all__ = ["write_regimes"]


def write_regimes(group, codes: np.ndarray) -> None:
    """``regime`` (B, n) int8 with the legend and rule, ``regime_fraction`` (B, 5), ``network_regime`` (B,)."""
    codes = np.asarray(codes, dtype=np.int8)
    ds = write_array(group, "regime", codes)
    ds.attrs["legend"] = LEGEND
    ds.attrs["rule"] = RULE
    fr = write_array(group, "regime_fraction", regime_fraction(codes) if codes.size else
                     np.zeros((codes.shape[0], len(REGIMES))))
    fr.attrs["columns"] = ",".join(REGIMES)
    write_array(group, "network_regime", np.array(network_regime(codes) if codes.size else [], dtype=str))
