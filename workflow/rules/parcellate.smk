# Data stage 2: T1w/T2w per region with nilearn on the conte69 meshes (encephagen.data.parcellate).
from encephagen.data import parcellate as _DP


def data_t1t2_atlases():
    return [a for a in _DP.atlases_for(data_connectomes()) if a not in ("schaefer200", "schaefer300", "schaefer400")] \
        + list(config["data"]["t1t2_extra"])


def t1t2_table(atlas):
    if atlas in ("hcp80", "gw80"):
        return [data_table("aal2")]
    if atlas.startswith("schaefer100"):
        return [data_table("schaefer100")]
    if atlas.startswith("schaefer"):
        return []
    return [data_table(atlas)] + ([data_table("dk84")] if atlas in ("tvb66", "tvb68") else [])


rule parcellate_t1t2:
    input:
        sources=lambda wc: [data_raw(p) for p in _DP.t1t2_inputs(wc.atlas)],
        tables=lambda wc: t1t2_table(wc.atlas),
    output:
        "resources/t1t2/{atlas}.tsv",
    params:
        min_vertices=config["data"]["min_vertices"],
    log:
        "logs/parcellate_t1t2/{atlas}.log",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/parcellate_t1t2.py"
