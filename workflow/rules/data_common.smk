# Python of the data stages (fetch, parcellate, empirical): input functions and targets.
# Included by fetch.smk; all logic lives in encephagen.data.
import importlib.util as _ilu

from encephagen.data import connectomes as _DC
from encephagen.data import empirical as _DE
from encephagen.data import own as _DO
from encephagen.data import parcellate as _DP
from encephagen.data import registry as _DR
from encephagen.data import sources as _DS
from encephagen.data import tables as _DT
from encephagen.data.fetch import read_manifest as _read_manifest

DATA_MANIFEST = _read_manifest()
DATA_CONNECTOMES = list(_DR.CONNECTOMES)
DATA_GROUPS = dict(_DS.GROUPS)
T1T2_EXTRA = _DR.T1T2_EXTRA
SUBJECT_CONNECTOMES = _DR.SUBJECT_CONNECTOMES  # converted with per-subject matrices too


def data_raw(path):
    """The verified copy of one manifest path under resources/raw/."""
    src = DATA_MANIFEST[path]
    return f"resources/raw/{src.package}/{src.path}"


def data_package_file(path):
    """The file inside the installed package (an input, so a reinstalled package refetches);
    [] when the package is absent: the fetch job then fails naming the pip command."""
    src = DATA_MANIFEST[path]
    spec = _ilu.find_spec(src.module)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(list(spec.submodule_search_locations)[0]).parent / src.path)]


def data_group_package_files(group):
    return [f for p in DATA_GROUPS[group][1] for f in data_package_file(p)]


def data_group_raw(group):
    return [data_raw(p) for p in DATA_GROUPS[group][1]]


def data_connectomes():
    names = config["data"]["connectomes"] or DATA_CONNECTOMES
    return list(dict.fromkeys(list(names) + [a for a in config["atlases"] if a in DATA_CONNECTOMES]))


def data_table(atlas):
    return str(_DT.TABLES / f"{atlas}_regions.tsv")


def data_table_of(name):
    """The region table a connectome / FC dataset / T1w/T2w atlas is labelled with."""
    return data_table(_DR.region_table(name))


def own_connectome(atlas):
    """The `connectomes:` entry of one of your own connectomes (docs/own_connectome.md), or None."""
    return (config.get("connectomes") or {}).get(atlas)


def connectome_sources(wildcards):
    own = own_connectome(wildcards.atlas)
    if own is not None:
        return _DO.own_inputs(wildcards.atlas, own)
    return [data_raw(p) for p in _DC.connectome_inputs(wildcards.atlas)]


def connectome_table(wildcards):
    return [] if own_connectome(wildcards.atlas) is not None else data_table_of(wildcards.atlas)


OWN_T1T2 = [a for a, spec in (config.get("connectomes") or {}).items() if spec.get("t1t2") is not None]


def atlas_has_t1t2(atlas):
    """Built-in atlases have a T1w/T2w table; your own ones only when they declare a map."""
    own = own_connectome(atlas)
    return own is None or own.get("t1t2") is not None


def data_t1t2_atlases():
    return [a for a in _DP.atlases_for(data_connectomes()) if a not in T1T2_EXTRA] + list(config["data"]["t1t2_extra"])


def t1t2_sources(wildcards):
    return [data_raw(p) for p in _DP.t1t2_inputs(wildcards.atlas)]


def t1t2_tables(wildcards):
    return [data_table(t) for t in _DR.t1t2_region_tables(wildcards.atlas)]


def data_fc_datasets():
    chosen = config["data"]["fc_datasets"]
    return [d for d in _DE.datasets_for(data_connectomes()) if chosen is None or d in chosen]


def fc_sources(wildcards):
    return [data_raw(p) for p in _DE.fc_inputs(wildcards.dataset)]


def fc_table(wildcards):
    return data_table_of(wildcards.dataset)


def fc_bandpass(wildcards):
    """Only the BOLD-based datasets depend on the band-pass settings (a change reruns only them)."""
    return dict(config["data"]["bandpass"]) if _DR.dataset("fc", wildcards.dataset).bold else {}


def data_baseline_pairs():
    have = set(data_fc_datasets())
    return [(c, d) for c, d in _DE.baseline_pairs(data_connectomes()) if d in have]


def baseline_connectomes(wildcards):
    return sorted({f"resources/connectomes/{c}.h5" for c, _ in data_baseline_pairs()})


def baseline_fc(wildcards):
    return sorted({f"resources/fc/{d}.h5" for _, d in data_baseline_pairs()})


@stage_targets("data")
def data_targets():
    return (
        [f"resources/connectomes/{c}.h5" for c in data_connectomes()]
        + [f"resources/t1t2/{a}.tsv" for a in data_t1t2_atlases()]
        + [f"resources/fc/{d}.h5" for d in data_fc_datasets()]
        + ["results/baselines/sc_fc.tsv"]
    )
