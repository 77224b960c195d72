"""The parameters a fit searches: global coupling G plus regional heterogeneity of model parameters.

A candidate is a point ``theta`` in the unit cube ``[0, 1]^d`` (what the optimisers see); the
:class:`ParameterSpace` decodes a batch of them ``(B, d)`` into model arrays: ``G`` (B,) and, for
every heterogeneous parameter, one value per region ``(B, n)``.

Heterogeneity of a parameter ``p`` with base value ``p0`` (the model's default unless given):

* ``maps``: ``p_j = p0 * exp(sum_k s_k m_kj)`` (link ``'exp'``, sign of p0 kept, so a Hopf
  ``a < 0`` stays below the bifurcation) or ``p_j = p0 + sum_k s_k m_kj`` (link ``'linear'``);
  ``m_k`` (n,) are regional maps (T1w/T2w, the principal gradient of the TRAINING FC, any column of
  a region table), normalised (z-score by default) so the coefficients ``s_k`` share one range.
* ``networks``: one coefficient per network (Yeo-7 labels ``0..K-1`` per region): the same links
  with the indicator maps of the networks.
* ``regions``: one coefficient per region (identity maps; n free parameters).

G is searched on a log scale between ``G_bounds``; each coefficient linearly within its ``bounds``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

__all__ = ["FitError", "Heterogeneity", "ParameterSpace", "normalise_map", "network_maps", "space_from_spec"]

LINKS = ("exp", "linear")
KINDS = ("maps", "networks", "regions")


class FitError(ValueError):
    """Bad input to a fit (parameters, maps, targets, optimiser settings); the message names it."""


def normalise_map(x, method: str = "zscore") -> np.ndarray:
    """A regional map (n,) or maps (k, n) scaled per map: 'zscore' (mean 0, sd 1), 'minmax' ([0, 1]),
    or 'none'. Non-finite values are an error (fill or drop them first)."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise FitError("a heterogeneity map has non-finite values; fill or drop them first")
    if method == "none":
        return x.copy()
    if method == "zscore":
        sd = x.std(-1, keepdims=True)
        return (x - x.mean(-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if method == "minmax":
        lo, hi = x.min(-1, keepdims=True), x.max(-1, keepdims=True)
        return (x - lo) / np.where(hi > lo, hi - lo, 1.0)
    raise FitError(f"map normalisation must be zscore|minmax|none, got {method!r}")


def network_maps(labels) -> tuple[np.ndarray, tuple[str, ...]]:
    """Indicator maps (K, n) of integer (or string) network labels per region, and the names."""
    lab = np.asarray(labels)
    names = tuple(str(v) for v in np.unique(lab))
    if len(names) < 2:
        raise FitError("network heterogeneity needs at least two networks")
    M = np.stack([(lab.astype(str) == v).astype(float) for v in names])
    return M, names


@dataclass(frozen=True)
class Heterogeneity:
    """Regional heterogeneity of one model parameter (see the module docstring).

    ``values``: maps (k, n) or (n,) for kind 'maps'; network labels (n,) for 'networks'; the
    number of regions n for 'regions'. ``bounds``: the range of each coefficient.
    """

    parameter: str
    kind: str
    values: object
    names: tuple = ()
    bounds: tuple = (-1.0, 1.0)
    link: str = "exp"
    normalise: str = "zscore"
    base: float | None = None
    maps: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise FitError(f"heterogeneity kind must be one of {KINDS}, got {self.kind!r}")
        if self.link not in LINKS:
            raise FitError(f"heterogeneity link must be one of {LINKS}, got {self.link!r}")
        lo, hi = (float(v) for v in self.bounds)
        if not lo < hi:
            raise FitError(f"heterogeneity bounds of {self.parameter!r} must be (low < high), got {self.bounds}")
        if self.kind == "maps":
            M = normalise_map(np.atleast_2d(np.asarray(self.values, dtype=float)), self.normalise)
            names = tuple(self.names) or tuple(f"map{i}" for i in range(len(M)))
        elif self.kind == "networks":
            M, names = network_maps(self.values)
            names = tuple(self.names) or names
        else:
            n = int(self.values)
            M, names = np.eye(n), tuple(self.names) or tuple(f"region{i}" for i in range(n))
        if len(names) != len(M):
            raise FitError(f"heterogeneity of {self.parameter!r}: {len(names)} names for {len(M)} maps")
        object.__setattr__(self, "maps", M)
        object.__setattr__(self, "names", names)

    @property
    def n_coef(self) -> int:
        return int(self.maps.shape[0])

    @property
    def n_regions(self) -> int:
        return int(self.maps.shape[1])

    def apply(self, base: float, coef: np.ndarray) -> np.ndarray:
        """Regional values (B, n) from coefficients (B, k)."""
        e = np.asarray(coef, dtype=float) @ self.maps
        return base * np.exp(e) if self.link == "exp" else base + e


class ParameterSpace:
    """G (log scale within ``G_bounds``) + heterogeneities; decodes unit-cube candidates.

    ``base``: the model's parameter values (the homogeneous model); a heterogeneous parameter
    starts from ``Heterogeneity.base`` or else ``base[parameter]``. ``fixed_G``: no G axis (the
    coupling held at that value).
    """

    def __init__(self, n_regions: int, *, G_bounds=(1e-3, 10.0), heterogeneity: Sequence[Heterogeneity] = (),
                 base: Mapping[str, float] | None = None, fixed_G: float | None = None):
        self.n = int(n_regions)
        self.base = dict(base or {})
        self.het = tuple(heterogeneity)
        self.fixed_G = None if fixed_G is None else float(fixed_G)
        glo, ghi = (float(v) for v in G_bounds)
        if self.fixed_G is None and not (0 < glo < ghi):
            raise FitError(f"G_bounds must satisfy 0 < low < high (log-scale search), got {G_bounds}")
        self.G_bounds = (glo, ghi)
        seen = set()
        for h in self.het:
            if h.n_regions != self.n:
                raise FitError(f"heterogeneity of {h.parameter!r} has maps of {h.n_regions} regions, the network "
                               f"{self.n}")
            if h.parameter in seen:
                raise FitError(f"parameter {h.parameter!r} has two heterogeneities; give one with several maps")
            seen.add(h.parameter)
            if h.base is None and h.parameter not in self.base:
                raise FitError(f"heterogeneous parameter {h.parameter!r} has no base value (model defaults: "
                               f"{sorted(self.base)})")
        self.names = (() if self.fixed_G is not None else ("log10_G",)) + tuple(
            f"{h.parameter}:{nm}" for h in self.het for nm in h.names)
        lows = ([] if self.fixed_G is not None else [np.log10(glo)]) + [h.bounds[0] for h in self.het
                                                                        for _ in h.names]
        highs = ([] if self.fixed_G is not None else [np.log10(ghi)]) + [h.bounds[1] for h in self.het
                                                                         for _ in h.names]
        self.low, self.high = np.asarray(lows, float), np.asarray(highs, float)

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_values(self, theta) -> np.ndarray:
        """Unit-cube points (B, d) -> parameter values (B, d) (log10 G, coefficients)."""
        t = np.atleast_2d(np.asarray(theta, dtype=float))
        if t.shape[-1] != self.dim:
            raise FitError(f"candidates have {t.shape[-1]} coordinates, the space {self.dim} ({self.names})")
        return self.low + np.clip(t, 0.0, 1.0) * (self.high - self.low)

    def to_unit(self, values) -> np.ndarray:
        v = np.atleast_2d(np.asarray(values, dtype=float))
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        return (v - self.low) / span

    def decode(self, theta) -> dict:
        """{'G': (B,), parameter: (B, n) for each heterogeneous parameter} from unit-cube points (B, d)."""
        v = self.to_values(theta)
        B = v.shape[0]
        i = 0
        if self.fixed_G is None:
            out = {"G": 10.0 ** v[:, 0]}
            i = 1
        else:
            out = {"G": np.full(B, self.fixed_G)}
        for h in self.het:
            base = float(h.base if h.base is not None else self.base[h.parameter])
            out[h.parameter] = h.apply(base, v[:, i:i + h.n_coef])
            i += h.n_coef
        return out

    def describe(self, theta) -> list[dict]:
        """{name: value} per candidate (G as G, not log10)."""
        v = self.to_values(theta)
        rows = []
        for row in v:
            d = dict(zip(self.names, row.tolist()))
            if "log10_G" in d:
                d["G"] = 10.0 ** d.pop("log10_G")
            rows.append(d)
        return rows


def space_from_spec(n_regions: int, spec: Mapping, maps: Mapping[str, np.ndarray] | None = None,
                    networks: Mapping[str, np.ndarray] | None = None, base: Mapping[str, float] | None = None
                    ) -> ParameterSpace:
    """A :class:`ParameterSpace` from a plain (config-like) spec::

        {"G": [1e-3, 1e3],                                   # log-scale bounds, or "fixed_G": 0.5
         "heterogeneity": [{"parameter": "a", "maps": ["t1t2", "fc_gradient1"], "bounds": [-3, 3]},
                           {"parameter": "sigma", "networks": "yeo7", "link": "exp"},
                           {"parameter": "a", "regions": true}]}

    ``maps`` / ``networks``: the named regional arrays the spec may refer to (an unknown name is an
    error that lists the available ones).
    """
    maps, networks = dict(maps or {}), dict(networks or {})
    hets = []
    for i, h in enumerate(spec.get("heterogeneity", ()) or ()):
        where = f"heterogeneity[{i}]"
        if "parameter" not in h:
            raise FitError(f"{where}: 'parameter' is required")
        kinds = [k for k in ("maps", "networks", "regions") if h.get(k)]
        if len(kinds) != 1:
            raise FitError(f"{where}: give exactly one of maps | networks | regions, got {kinds or 'none'}")
        kw = dict(bounds=tuple(h.get("bounds", (-1.0, 1.0))), link=h.get("link", "exp"),
                  normalise=h.get("normalise", "zscore"), base=h.get("base"))
        if kinds[0] == "maps":
            names = [h["maps"]] if isinstance(h["maps"], str) else list(h["maps"])
            missing = [m for m in names if m not in maps]
            if missing:
                raise FitError(f"{where}: unknown map(s) {missing}; available: {sorted(maps)}")
            hets.append(Heterogeneity(h["parameter"], "maps", np.stack([np.asarray(maps[m], float) for m in names]),
                                      names=tuple(names), **kw))
        elif kinds[0] == "networks":
            if h["networks"] not in networks:
                raise FitError(f"{where}: unknown networks {h['networks']!r}; available: {sorted(networks)}")
            hets.append(Heterogeneity(h["parameter"], "networks", networks[h["networks"]], **kw))
        else:
            hets.append(Heterogeneity(h["parameter"], "regions", int(n_regions), **kw))
    return ParameterSpace(n_regions, G_bounds=tuple(spec.get("G", (1e-3, 1e3))), heterogeneity=hets, base=base,
                          fixed_G=spec.get("fixed_G"))
