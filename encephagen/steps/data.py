"""The data stage's steps: packaged sources -> verified copies under ``<root>/raw`` -> connectome,
T1w/T2w, empirical FC and SC-FC baseline files (paths in, the dataset readers and builders of
:mod:`encephagen.data` for arrays and tables, files out through :mod:`encephagen.io`).

Layout under a resources root (``$ENCEPHAGEN_RESOURCES`` or ``./resources``)::

    raw/<package>/<path>              verified copies of packaged files (sha256 manifest)
    connectomes/<name>.h5             kind "connectome" (+ <name>_subjects.h5 for hcp80, gw80)
    t1t2/<atlas>.tsv                  T1w/T2w per region (index, label, t1t2, n_vertices, status, reason)
    fc/<dataset>.h5                   kind "empirical_fc"
    baselines/sc_fc.tsv               SC-only baselines per (connectome, FC dataset)

:func:`prepare_resources` is what the workflow's fetch/convert rules do, in one call
(``encephagen data prepare``).
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from encephagen.connectome import Connectome
from encephagen.data import connectomes as C
from encephagen.data import empirical as E
from encephagen.data import fetch as F
from encephagen.data import own as O
from encephagen.data import parcellate as P
from encephagen.data import sources as S
import encephagen.data as D
from encephagen.data import CONNECTOMES, DataError, resources_root
from encephagen.io import atomic_h5, write_array
from encephagen.io.tables import atomic_path, write_text

log = logging.getLogger(__name__)

__all__ = ["STAGES", "prepare_resources", "ensure_connectome", "load_connectome", "fetch", "fetch_many", "convert_connectome", "convert_own_connectome",
           "write_own_t1t2", "write_t1t2", "convert_fc", "write_baselines", "write_manifest", "regenerate_manifest"]


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
    if "connectomes" in stages:
        for k, n in enumerate(names, 1):
            out = C.connectome_path(root, n)
            inputs = C.connectome_inputs(n)
            if not force and C.is_current(out, inputs):
                continue
            fetch_many(inputs, root)
            log.info("[%d/%d] building connectome %s", k, len(names), n)
            built["connectomes"].append(convert_connectome(n, root))
    if "t1t2" in stages:
        todo = P.atlases_for(names)
        for k, atlas in enumerate(todo, 1):
            out = root / "t1t2" / f"{atlas}.tsv"
            if not force and P.is_current(out, atlas):
                continue
            fetch_many(P.t1t2_inputs(atlas), root)
            log.info("[%d/%d] T1w/T2w for %s", k, len(todo), atlas)
            built["t1t2"].append(write_t1t2(atlas, root, out))
    if "fc" in stages:
        todo = E.datasets_for(names)
        for k, ds in enumerate(todo, 1):
            out = root / "fc" / f"{ds}.h5"
            if not force and C.is_current(out, E.fc_inputs(ds), version=E.FC_VERSION):
                continue
            fetch_many(E.fc_inputs(ds), root)
            log.info("[%d/%d] empirical FC %s", k, len(todo), ds)
            built["fc"].append(convert_fc(ds, root, out))
    if "baselines" in stages:
        out = root / "baselines" / "sc_fc.tsv"
        pairs = E.baseline_pairs(names)
        if force or not E.baselines_current(out, pairs, root):
            built["baselines"].append(write_baselines(pairs, root, out))
    return built


def ensure_connectome(name: str, resources_dir: str | os.PathLike | None = None) -> Path:
    """The connectome file of ``name`` under the resources root, built from the packages first when
    missing (the packages must be installed)."""
    root = resources_root(resources_dir)
    path = C.connectome_path(root, C.spec(name).name)
    if not path.exists():
        prepare_resources(root, [name], stages=("connectomes",))
    return path


def load_connectome(name: str, resources_dir: str | os.PathLike | None = None,
                    subject: str | None = None) -> Connectome:
    """:func:`encephagen.data.load_connectome` after :func:`ensure_connectome` (the command line's
    and a user's entry)."""
    ensure_connectome(name, resources_dir)
    return D.load_connectome(name, resources_dir, subject=subject)


# -------------------------------------------------------------------------------------------- fetch
def fetch(path: str, root: str | os.PathLike, manifest: Mapping[str, F.Source] | None = None,
          package_dirs: Sequence[str | os.PathLike] | None = None, force: bool = False) -> Path:
    """Copy one verified package file to ``<root>/raw/<package>/<path>`` (atomic; idempotent).

    An existing copy is re-verified (a stale or corrupt copy is replaced from the package).
    """
    src = F.source(path, manifest)
    dest = src.raw_path(root)
    if dest.is_file() and not force:
        try:
            return F.verify(dest, src)
        except F.ChecksumError:
            pass
    origin = F.locate(path, manifest, package_dirs)  # raises before anything is written
    with atomic_path(dest) as tmp:
        shutil.copyfile(origin, tmp)
        F.verify(tmp, src)
    return dest


def fetch_many(paths: Iterable[str], root: str | os.PathLike, **kw) -> list[Path]:
    return [fetch(p, root, **kw) for p in paths]


def write_manifest(rows: Iterable[tuple[str, str, str, str]], out: str | os.PathLike = F.MANIFEST) -> Path:
    """Maintainer helper: (package, path, licence, citation) -> manifest with versions and sha256
    of the files as installed now. Run once when a pin changes; review the diff."""
    out = Path(out)
    lines = ["# sha256 manifest of every packaged source file encephagen reads (encephagen.data.fetch)",
             "\t".join(F.MANIFEST_COLUMNS)]
    for package, path, licence, citation in rows:
        src = F.Source(package, F.installed_version(package) or "?", path, "", licence, citation)
        f = F.package_site(src) / path
        lines.append("\t".join([package, src.version, path, F.sha256sum(f), licence, citation]))
    write_text(out, "\n".join(lines) + "\n")   # atomic
    F._read_manifest_cached.cache_clear()
    return out


def regenerate_manifest():
    """Rewrite the manifest from the installed packages (maintainers only; review the diff)."""
    rows = []
    for _name, (pkg, paths, cite) in S.GROUPS.items():
        rows += [(pkg, p, S.LICENCE[pkg], cite) for p in paths]
    return write_manifest(rows)

# -------------------------------------------------------------------------------------- connectomes
def convert_connectome(name: str, root: str | Path, out: str | Path | None = None,
                       isolated: str = "allow") -> Path:
    """Build ``<root>/connectomes/<name>.h5`` (and ``<name>_subjects.h5`` where subjects exist)
    from the staged, verified sources under ``<root>/raw``."""
    root = Path(root)
    c, subj = C.spec(name).build(root)
    c.validate(isolated=isolated, source=name)
    out = Path(out) if out is not None else C.connectome_path(root, name)
    extra = {"converter_version": C.CONVERTER_VERSION, "sources": c.provenance.get("sources", {})}
    c.save(out, provenance=extra)
    if subj is not None:
        sp = out.with_name(out.stem + "_subjects.h5")
        with atomic_h5(sp, kind="connectome_subjects", provenance=extra) as f:
            for k in ("weights", "weights_raw", "lengths"):
                write_array(f, k, subj[k])
            write_array(f, "subjects", np.array(subj["subjects"], dtype=str))
            write_array(f, "labels", np.array(c.labels, dtype=str))
            f.attrs["name"] = name
            f.attrs["normalisation"] = subj["normalisation"]
    log.info("wrote %s (%d regions)", out, c.n)
    return out


def convert_own_connectome(name: str, spec: Mapping, out: str | os.PathLike, *, isolated: str = "allow") -> Path:
    """Build and write ``out`` (kind 'connectome'), recording the input files' sha256."""
    c = O.build_own_connectome(name, spec, isolated=isolated)
    sums = {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in O.own_inputs(name, spec)}
    c.save(out, provenance={"own_version": O.OWN_VERSION, "sources": sums})
    log.info("wrote %s (%d regions, own connectome)", out, c.n)
    return Path(out)


def write_own_t1t2(name: str, spec: Mapping, out: str | os.PathLike) -> Path:
    """``resources/t1t2/<name>.tsv`` (the parcellate stage's format) from the declared per-region map."""
    if spec.get("t1t2") is None:
        raise O.OwnConnectomeError(f"connectomes.{name}: no 't1t2' map declared")
    labels = O.read_column(spec["labels"], name=name, key="labels", column="label")
    vals = O.read_column(spec["t1t2"], name=name, key="t1t2", column="t1t2")
    if len(vals) != len(labels):
        raise O.OwnConnectomeError(f"{O._where(name, 't1t2', spec['t1t2'])}: {len(vals)} values for {len(labels)} regions")
    out = Path(out)
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as fh:
        fh.write(f"# T1w/T2w per region for {name} (user map {spec['t1t2']})\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["index", "label", "t1t2", "n_vertices", "status", "reason", "method"])
        for i, (lab, v) in enumerate(zip(labels, vals)):
            try:
                x = float(v)
            except ValueError:
                x = float("nan")
            ok = np.isfinite(x)
            w.writerow([i, lab, f"{x:.6g}" if ok else "nan", 0, "ok" if ok else "unavailable",
                        "" if ok else "no finite value in the user map", "user map"])
    return out

# ------------------------------------------------------------------------------------------ T1w/T2w
def write_t1t2(atlas: str, root: str | os.PathLike, out: str | os.PathLike | None = None,
               min_vertices: int = P.MIN_VERTICES) -> Path:
    root = Path(root)
    out = Path(out) if out is not None else root / "t1t2" / f"{atlas}.tsv"
    rows = P.compute_t1t2(atlas, root, min_vertices=min_vertices)
    man = F.read_manifest()
    header = [f"# T1w/T2w per region for {atlas} (encephagen.data.parcellate, version {P.T1T2_VERSION})",
              "# source: brainspace conte69_32k_t1wt2w.csv (HCP group T1w/T2w); method column says how regions were "
              "sampled",
              "# sources: " + " ".join(f"{p}={man[p].sha256}" for p in P.t1t2_inputs(atlas))]
    if atlas in ("schaefer100", "schaefer100-test303"):
        x = np.array([r["t1t2"] for r in rows]); z = np.array([r["cubnm_myelin_z"] for r in rows])
        ok = np.isfinite(x)
        header.append(f"# cross-check: Pearson r with cubnm's z-scored myelin map = {np.corrcoef(x[ok], z[ok])[0, 1]:.3f}")
    cols = list(rows[0])
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as fh:
        fh.write("\n".join(header) + "\n")
        w = csv.DictWriter(fh, fieldnames=cols, delimiter="\t", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    log.info("wrote %s", out)
    return out

# ----------------------------------------------------------------------- empirical FC and baselines
def convert_fc(ds: str, root: str | os.PathLike, out: str | os.PathLike | None = None,
               bandpass_cfg: Mapping | None = None) -> Path:
    """Write ``<root>/fc/<ds>.h5`` (kind empirical_fc) from the staged sources."""
    root = Path(root)
    out = Path(out) if out is not None else root / "fc" / f"{ds}.h5"
    d = E.compute_fc(ds, root, bandpass_cfg)
    fc = d["fc"]
    n = len(d["labels"])
    if fc.shape != (n, n) or not np.all(np.isfinite(fc)):
        raise DataError(f"{ds}: FC has shape {fc.shape} (expected {n}x{n}) or non-finite values")
    man = F.read_manifest()
    spec = E.FC_SOURCES[ds]
    prov = {"converter_version": E.FC_VERSION, "sources": {p: man[p].sha256 for p in spec["inputs"]},
            "citation": spec["cite"]}
    with atomic_h5(out, kind="empirical_fc", provenance=prov) as f:
        write_array(f, "fc", fc)
        write_array(f, "labels", np.array(d["labels"], dtype=str))
        for k in ("subject_fc", "fcd", "fcd_tril", "fcd_hist", "fcd_edges"):
            if k in d:
                write_array(f, k, np.asarray(d[k], float))
        if "subjects" in d:
            write_array(f, "subjects", np.array(d["subjects"], dtype=str))
        f.attrs["dataset"] = ds
        f.attrs["connectome"] = spec["connectome"]
        f.attrs["tr"] = float(spec["tr"])
        f.attrs["bandpass"] = json.dumps(d["bandpass"], sort_keys=True)
        f.attrs["source"] = spec["source"]
        f.attrs["group_method"] = d["group_method"]
        f.attrs["fcd_method"] = d.get("fcd_method", "")
        f.attrs["citation"] = spec["cite"]
    log.info("wrote %s", out)
    return out


def write_baselines(pairs: Sequence[tuple[str, str]], root: str | os.PathLike,
                    out: str | os.PathLike | None = None, thresholds: Mapping | None = None) -> Path:
    """One table of SC-only baselines (Pearson/Spearman, raw and log10 SC) for each (connectome, FC) pair.

    The SC is the nulls stage's real network (:func:`encephagen.nulls.families.prepare_source`, as
    the study layer's real network: the configured threshold ``thresholds[connectome]`` =
    ``nulls.threshold.<atlas>``, if any), the network every model is run on, so that a baseline and
    a model fit see the same weights."""
    from encephagen.nulls.families import prepare_source  # the generators (numba): only this step of the module

    root = Path(root)
    out = Path(out) if out is not None else root / "baselines" / "sc_fc.tsv"
    rows = []
    for cname, ds in pairs:
        c = Connectome.load(C.connectome_path(root, cname), isolated="allow")
        d = E.read_fc(root / "fc" / f"{ds}.h5")
        if list(c.labels) != list(d["labels"]):
            raise DataError(f"baseline {cname} vs {ds}: region labels/order differ")
        th = (thresholds or {}).get(cname)
        r = E.sc_fc_baseline(prepare_source(c, threshold=th, name=c.name).weights, d["fc"])
        note = "SC symmetrised (W+W.T)/2" if c.directed else ""
        if th and th.get("method", "none") != "none":
            note = (note + "; " if note else "") + f"SC thresholded as the nulls stage ({th['method']} {th.get('value')})"
        if d["bandpass"].get("enabled"):
            note = (note + "; " if note else "") + f"FC band-passed {d['bandpass']['low_hz']}-{d['bandpass']['high_hz']} Hz"
        rows.append({"connectome": cname, "fc_dataset": ds, **r, "note": note})
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=E.BASELINE_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in r.items()})
    return out
