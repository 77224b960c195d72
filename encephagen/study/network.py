"""Networks and the one expansion every engine uses: networks x seed ids x parameter sets.

The seed rule is written here once::

    seed = derive_seed(master_seed, atlas, family, null_index, seed_id)

never from a batch position, shared across the parameter grid (common random numbers). An
engine that needs further independent streams (the LIF engine's network instantiation) names
them (``streams=("build",)``): ``derive_seed(master_seed, atlas, family, null_index, seed_id,
stream)``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from encephagen.seeds import derive_seed

SEED_RULE = "derive_seed(master_seed, atlas, family, null_index, seed_id)"


class Network(NamedTuple):
    """One network and its identity: the real connectome (family 'real', null_index 0) or a null."""
    atlas: str
    family: str
    null_index: int
    weights: np.ndarray   # (n, n) [target, source]
    lengths: np.ndarray   # (n, n) mm (None: no delays)


def element_seed(master_seed: int, net: Network, seed_id: int, *stream: str) -> int:
    """The seed of one (network, seed id) -- and of a named further stream of it."""
    return derive_seed(int(master_seed), str(net.atlas), str(net.family), int(net.null_index), int(seed_id), *stream)


@dataclass
class Element:
    """One run: a network (its index in the study's list), a seed id, a parameter set."""
    net: int
    atlas: str
    family: str
    null_index: int
    seed_id: int
    seed: int
    G: float
    grid: dict
    seeds: dict = field(default_factory=dict)   # further streams, e.g. {'build': ...}

    def label(self) -> dict:
        return dict(atlas=self.atlas, family=self.family, null_index=self.null_index, seed_id=self.seed_id,
                    G=self.G, **self.grid)


def parameter_sets(G: Sequence[float], grid: Mapping[str, Sequence] | None = None) -> list[tuple[float, dict]]:
    """G x grid (G outermost, then the grid's keys in order)."""
    grid = dict(grid or {})
    names = list(grid)
    return [(c[0], dict(zip(names, c[1:]))) for c in itertools.product([float(g) for g in G], *[grid[k] for k in names])]


def expand(networks: Sequence[Network], params: Sequence[tuple[float, dict]], seed_ids: Sequence[int],
           master_seed: int, streams: Sequence[str] = ()) -> list[Element]:
    """networks x seed ids x parameter sets, network outermost; seeds by :data:`SEED_RULE`."""
    if master_seed is None:
        raise ValueError("master_seed is missing (set 'master_seed' in the config); 0 is a valid seed")
    out = []
    for ni, net in enumerate(networks):
        net = Network(*net)
        for sid in seed_ids:
            seed = element_seed(master_seed, net, sid)
            extra = {s: element_seed(master_seed, net, sid, s) for s in streams}
            for G, grid in params:
                out.append(Element(ni, str(net.atlas), str(net.family), int(net.null_index), int(sid), seed,
                                   float(G), dict(grid), dict(extra)))
    return out
