# Data stage 1: verified copies of the packaged source files (encephagen.data.fetch) and their
# conversion into connectomes. Fetching runs on the submit host (localrules): compute nodes
# often have no internet, and these jobs take seconds.
import importlib.util as _ilu

from encephagen.data import connectomes as _DC
from encephagen.data import sources as _DS
from encephagen.data import tables as _DT
from encephagen.data.fetch import read_manifest as _read_manifest

DATA_MANIFEST = _read_manifest()
DATA_CONNECTOMES = list(_DC.CONNECTOMES)
DATA_MULTI_SUBJECT = ["hcp80", "gw80"]


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


def data_connectomes():
    names = config["data"]["connectomes"] or DATA_CONNECTOMES
    return list(dict.fromkeys(list(names) + [a for a in config["atlases"] if a in DATA_CONNECTOMES]))


def data_table(atlas):
    return str(_DT.TABLES / f"{atlas}_regions.tsv")


def connectome_table(atlas):
    return data_table("aal2" if atlas in ("hcp80", "gw80") else
                      "schaefer100" if atlas.startswith("schaefer100") else atlas)


localrules:
    prepare_data,


for _group, (_pkg, _paths, _cite) in _DS.GROUPS.items():

    rule:
        name:
            f"fetch_{_group}"
        input:
            [f for p in _paths for f in data_package_file(p)],
        output:
            [data_raw(p) for p in _paths],
        params:
            paths=list(_paths),
        log:
            f"logs/fetch/{_group}.log",
        localrule: True
        script:
            "../scripts/fetch_sources.py"


ruleorder: convert_connectome_subjects > convert_connectome


rule convert_connectome:
    input:
        sources=lambda wc: [data_raw(p) for p in _DC.connectome_inputs(wc.atlas)],
        table=lambda wc: connectome_table(wc.atlas),
    output:
        "resources/connectomes/{atlas}.h5",
    params:
        isolated=config["data"]["isolated_nodes"],
    log:
        "logs/convert_connectome/{atlas}.log",
    script:
        "../scripts/convert_connectome.py"


rule convert_connectome_subjects:
    input:
        sources=lambda wc: [data_raw(p) for p in _DC.connectome_inputs(wc.atlas)],
        table=lambda wc: connectome_table(wc.atlas),
    output:
        "resources/connectomes/{atlas}.h5",
        "resources/connectomes/{atlas}_subjects.h5",
    params:
        isolated=config["data"]["isolated_nodes"],
    log:
        "logs/convert_connectome/{atlas}.log",
    wildcard_constraints:
        atlas="hcp80|gw80",
    script:
        "../scripts/convert_connectome.py"
