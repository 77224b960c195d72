"""Cognitive functions from structure (claim 8 of issue 21): an engine of the study layer
(registry ``cognition_lif``, file layout ``cognition``, config section ``cognition``) and the
statistics of its files.

Conditions (the grid ``condition``): ``nmda_off`` (0), ``nmda_on`` (1: the NMDA-like slow
excitatory current, ``nmda_ratio`` / ``tau_nmda`` of the LIF parameters, in the prefrontal
regions), ``uncoupled`` (2: NMDA on, ``G = 0``: no long-range synapse carries anything, the
"no recurrence between regions" control of the readout). The conditions of a seed id share the
network instantiation seed (``connectome_network`` draws the same synapses; NMDA only sets a
per-neuron ratio, G only scales long-range efficacies) and the counter-based Poisson drive: paired.

Protocol, after ``transient`` ms (no plasticity):

* working memory, ``memory.n_trials`` x [``off_ms`` rest; ``baseline_ms`` baseline; ``cue_ms``
  cue: the external Poisson rate of the prefrontal E cells x ``1 + memory.rate_increase``;
  ``delay_ms`` after cue offset in bins of ``bin_ms``]. Stored: E-cell region rates of the
  baseline, the cue and every delay bin (Hz).
* pattern recognition, ``patterns.n_classes x n_per_class`` presentations in one seeded order
  shared by every run (the stimulus of a batch is one schedule): [``off_ms`` rest; ``on_ms``
  pattern]. Pattern k: the E cells of the input regions active in k (a seeded random
  ``fraction_active`` of the input regions, distinct patterns, shared by every run) get their
  external Poisson rate x ``1 + patterns.rate_increase``. Stored: E-cell region rates over each
  presentation.

The stimulus switches rows of the batch's Poisson threshold table (:class:`PatternStimulus`, the
multi-pattern form of :class:`encephagen.learn.evoked.PoissonStimulus`); the draws are unchanged.

Per-run measures (:func:`run_measures`): ``pfc_baseline`` (Hz), ``pfc_cue_excess`` (cue minus
baseline), ``pfc_delay_excess`` (mean over the delay window minus baseline), ``pfc_excess_bin<k>``,
``persistence_pct`` = 100 x (excess over the first ``persistence_ms`` after offset) / cue excess
(the predecessor's "% persistence", operationalised), and ``accuracy``: the stratified
``cv_folds``-fold cross-validated accuracy of a standardised logistic-regression readout
(scikit-learn) of the non-input regions' rates, plus ``accuracy_shuffled`` (the real network's
runs only: the mean over a few label shuffles, the run's empirical chance level, for the figure).
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from encephagen.io import atomic_h5, write_array
from encephagen.learn.evoked import PoissonStimulus
from encephagen.learn.protocols import run_for
from encephagen.seeds import derive_seed, numpy_rng
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import connectome_network
from encephagen.spiking.params import LIFParams
from encephagen.spiking.rng import poisson_threshold_table
from encephagen.study.config import ParameterError
from encephagen.study.engine import pick_device, with_overrides
from encephagen.study.records import lif_protocol_header, read_run_file, runs_view, write_element_ids
from encephagen.study.network import parameter_sets

KIND = "cognition"
SECTION = "cognition"
CONDITIONS = (0, 1, 2)
CONDITION_NAMES = {0: "nmda_off", 1: "nmda_on", 2: "uncoupled"}
TEST_COLUMNS = ("experiment", "contrast", "unit", "network", "n", "effect", "ci_low", "ci_high", "p", "min_p",
                "control", "figure")


def resolve_cognition(section) -> dict:
    """The ``cognition`` section with the schema's defaults, validated (errors name ``cognition.<key>``)."""
    from jsonschema import Draft202012Validator

    from encephagen.schemas import section_defaults, section_schema

    sec = dict(section or {})
    errs = sorted(Draft202012Validator(section_schema(SECTION)).iter_errors(sec), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        where = ".".join(map(str, e.path))
        if e.validator == "additionalProperties":      # name the unknown key itself
            import re

            bad = re.findall(r"'([^']+)' was unexpected", e.message)
            where = ".".join([*map(str, e.path), *bad[:1]])
        raise ParameterError(f"cognition.{where or '(section)'}: {e.message}")
    cfg = section_defaults(SECTION)
    for k, v in sec.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else copy.deepcopy(v)
    if "G" in cfg["params"]:
        raise ParameterError("cognition.params.G: set cognition.G instead")
    try:
        cfg["_lif"] = LIFParams.from_dict({**dict(cfg["params"]), "G": float(cfg["G"])})
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"cognition.params: {exc}") from exc
    m = cfg["memory"]
    if m["persistence_ms"] > m["delay_ms"]:
        raise ParameterError(f"cognition.memory.persistence_ms = {m['persistence_ms']} exceeds memory.delay_ms = "
                             f"{m['delay_ms']}")
    if m["bin_ms"] > m["delay_ms"]:
        raise ParameterError("cognition.memory.bin_ms: larger than memory.delay_ms")
    if cfg["patterns"]["cv_folds"] > cfg["patterns"]["n_per_class"]:
        raise ParameterError("cognition.patterns.cv_folds: more folds than presentations per class")
    return cfg


# ------------------------------------------------------------------------ stimulus
class PatternStimulus(PoissonStimulus):
    """Several stimuli on one :class:`LIFBatch`: state 0 none, state k (1..) multiplies the external
    Poisson rate of ``sets[k-1] = (neurons, factor)``. Attach before the batch's first step."""

    def __init__(self, sim: LIFBatch, sets):
        if sim.t != 0:
            raise RuntimeError("PatternStimulus must be attached before the batch's first step")
        lam = np.concatenate([net.ext_rate for net in sim.networks]) * sim.dt / 1000.0
        tables = [lam]
        for neurons, factor in sets:
            s = lam.copy()
            s[np.asarray(neurons, np.int64)] *= float(factor)
            tables.append(s)
        uniq, inv = np.unique(np.concatenate(tables), return_inverse=True)
        N = sim.N
        sim.icdf_np = poisson_threshold_table(uniq)
        sim.icdf = torch.as_tensor(sim.icdf_np, device=sim.device)
        self.sim = sim
        self.grp = {k: torch.as_tensor(inv[k * N:(k + 1) * N].astype(np.int32), device=sim.device)
                    for k in range(len(tables))}
        if sim.backend == "torch":
            self.rows = {}
            for k, g in self.grp.items():
                rows = sim.icdf[g.long()].contiguous()
                pad = torch.full((sim.icdf.shape[0], 4), 1 << 32, dtype=torch.int64, device=sim.device)
                pad[:, :min(4, sim.icdf.shape[1])] = sim.icdf[:, :4]
                self.rows[k] = (rows, pad[g.long()].T.contiguous())
        self.state = 0
        self._set(0)

    def set(self, state: int) -> None:
        if state != self.state:
            self.state = int(state)
            self._set(int(state))


def region_excitatory(regions, n_e: int, n_i: int) -> np.ndarray:
    """Neuron indices (in one network; region-major, E cells first) of the E cells of ``regions``."""
    npr = n_e + n_i
    r = np.asarray(regions, np.int64)
    return (r[:, None] * npr + np.arange(n_e)[None, :]).ravel() if r.size else np.zeros(0, np.int64)


def make_patterns(n_inputs: int, n_classes: int, fraction: float, seed: int) -> np.ndarray:
    """(n_classes, n_inputs) 0/1: each class activates round(fraction x n_inputs) (>= 1) input regions,
    a seeded random choice; distinct rows (redrawn until they are, up to 1000 tries)."""
    if n_inputs < 1:
        raise ParameterError("cognition.input_class: no input region")
    k = int(min(n_inputs, max(1, round(fraction * n_inputs))))
    rng = numpy_rng(seed)
    for _ in range(1000):
        P = np.zeros((n_classes, n_inputs), np.int64)
        for c in range(n_classes):
            P[c, rng.choice(n_inputs, k, replace=False)] = 1
        if len({tuple(r) for r in P}) == n_classes:
            return P
    raise ParameterError(f"cognition.patterns: cannot draw {n_classes} distinct patterns of {k} of {n_inputs} "
                         f"input regions (fraction_active)")


def cognition_protocol(sim: LIFBatch, stim: PatternStimulus, region, is_exc, mem: dict, pat: dict,
                       order: np.ndarray, cue_state: int) -> dict:
    """Run the memory trials then the pattern presentations (module docstring); E-cell region rates."""
    dt, B, R, n = sim.dt, sim.B, sim.R, sim.n
    steps = {k: int(round(mem[k] / dt)) for k in ("off_ms", "baseline_ms", "cue_ms", "bin_ms")}
    n_bins = int(round(mem["delay_ms"] / mem["bin_ms"]))
    if min(steps["baseline_ms"], steps["cue_ms"], steps["bin_ms"]) < 1:
        raise ParameterError("cognition.memory: baseline_ms, cue_ms and bin_ms must be at least one step (dt)")
    ne = np.bincount(region[is_exc], minlength=R).astype(float)
    regE = np.where(is_exc, region, R)

    def rates(counts, nsteps):
        c = counts.reshape(B, n)
        return np.stack([np.bincount(regE, weights=c[b], minlength=R + 1)[:R] for b in range(B)]) / ne / (
            nsteps * dt / 1000.0)

    T = int(mem["n_trials"])
    out = {"wm_base": np.zeros((B, T, R)), "wm_cue": np.zeros((B, T, R)), "wm_delay": np.zeros((B, T, n_bins, R))}
    for t in range(T):
        run_for(sim, steps["off_ms"])
        c = np.zeros(sim.N, np.int64)
        run_for(sim, steps["baseline_ms"], c)
        out["wm_base"][:, t] = rates(c, steps["baseline_ms"])
        c = np.zeros(sim.N, np.int64)
        stim.set(cue_state)
        run_for(sim, steps["cue_ms"], c)
        stim.set(0)
        out["wm_cue"][:, t] = rates(c, steps["cue_ms"])
        for k in range(n_bins):
            c = np.zeros(sim.N, np.int64)
            run_for(sim, steps["bin_ms"], c)
            out["wm_delay"][:, t, k] = rates(c, steps["bin_ms"])
    off, on = int(round(pat["off_ms"] / dt)), int(round(pat["on_ms"] / dt))
    if on < 1:
        raise ParameterError("cognition.patterns.on_ms: at least one step (dt)")
    out["pr_rate"] = np.zeros((B, len(order), R))
    for t, k in enumerate(order):
        run_for(sim, off)
        c = np.zeros(sim.N, np.int64)
        stim.set(1 + int(k))
        run_for(sim, on, c)
        stim.set(0)
        out["pr_rate"][:, t] = rates(c, on)
    return out


# ------------------------------------------------------------------------ engine
class CognitionEngine:
    """LIF networks with a prefrontal cue and input patterns; NMDA off / on / uncoupled (section ``cognition``)."""

    name = "cognition_lif"
    kind = KIND
    section = SECTION
    streams: tuple = ("build",)
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        return with_overrides(resolve_cognition(section), seeds_per_network, device)

    def parameter_sets(self, cfg):
        return parameter_sets([cfg["G"]], {"condition": list(CONDITIONS)})

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, region_labels=None, prefrontal=None,
              inputs=None):
        R = np.asarray(nets[0][3]).shape[0]
        labels = list(region_labels) if region_labels is not None else [f"region{r}" for r in range(R)]
        if len(labels) != R:
            raise ParameterError(f"{len(labels)} region labels for {R} regions")
        pfc = np.unique(np.asarray(prefrontal if prefrontal is not None else [], np.int64))
        inp = np.unique(np.asarray(inputs if inputs is not None else [], np.int64))
        if pfc.size == 0:
            raise ParameterError("cognition: no prefrontal region (cognition.prefrontal_class)")
        if inp.size == 0:
            raise ParameterError("cognition: no input region (cognition.input_class)")
        for name, s in (("prefrontal", pfc), ("input", inp)):
            if s.min() < 0 or s.max() >= R:
                raise ParameterError(f"cognition: {name} region index out of range 0..{R - 1}: {s.tolist()}")
        if np.intersect1d(pfc, inp).size:
            raise ParameterError("cognition: a region is both prefrontal and input (prefrontal_class / input_class)")
        if np.setdiff1d(np.arange(R), inp).size < 2:
            raise ParameterError("cognition: fewer than 2 non-input regions to read out")
        pat = cfg["patterns"]
        P = make_patterns(inp.size, int(pat["n_classes"]), float(pat["fraction_active"]),
                          derive_seed(int(master_seed), "cognition", "patterns"))
        order = np.repeat(np.arange(int(pat["n_classes"])), int(pat["n_per_class"]))
        numpy_rng(derive_seed(int(master_seed), "cognition", "order")).shuffle(order)
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        return dict(cfg=cfg, nets=nets, labels=labels, pfc=pfc, inp=inp, patterns=P, order=order,
                    dev=pick_device(cfg["device"]), master_seed=int(master_seed))

    def batch_size(self, st) -> int:
        return int(st["cfg"]["batch_size"])

    def run_chunk(self, st, chunk, progress) -> dict:
        cfg, nets = st["cfg"], st["nets"]
        base = cfg["_lif"]
        R = np.asarray(nets[0][3]).shape[0]
        nmda_mask = np.zeros(R, bool)
        nmda_mask[st["pfc"]] = True
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        lif = []
        for e in chunk:
            _a, _f, _n, w, L = nets[e.net]
            c = int(e.grid["condition"])
            p = base.replace(G=0.0) if c == 2 else base
            lif.append(connectome_network(np.asarray(w, float), None if L is None else np.asarray(L, float), p,
                                          e.seeds["build"], dt=cfg["dt"], nmda_regions=nmda_mask if c >= 1 else None,
                                          name=f"{e.atlas}/{e.family}/{e.null_index} seed_id {e.seed_id} "
                                               f"{CONDITION_NAMES[c]}"))
        sim = LIFBatch(lif, [e.seed for e in chunk], device=st["dev"], backend=cfg["backend"])
        ne, ni = base.n_e, base.n_i

        def batch(neurons):
            return np.concatenate([neurons + b * sim.n for b in range(sim.B)])

        sets = []
        pf = 1.0 + float(cfg["patterns"]["rate_increase"])
        for row in st["patterns"]:
            sets.append((batch(region_excitatory(st["inp"][row > 0], ne, ni)), pf))
        sets.append((batch(region_excitatory(st["pfc"], ne, ni)), 1.0 + float(cfg["memory"]["rate_increase"])))
        stim = PatternStimulus(sim, sets)
        sim.random_initial_state()
        run_for(sim, int(round(cfg["transient"] / cfg["dt"])))
        sim.spike_total = np.zeros(sim.N, np.int64)
        t0 = sim.t
        out = cognition_protocol(sim, stim, lif[0].region, lif[0].is_exc, cfg["memory"], cfg["patterns"],
                                 st["order"], cue_state=len(sets))
        dur_s = (sim.t - t0) * sim.dt / 1000.0
        counts = sim.spike_total.reshape(sim.B, sim.n)
        region = lif[0].region
        rate = np.stack([np.bincount(region, weights=counts[b], minlength=sim.R) / np.bincount(region, minlength=sim.R)
                         for b in range(sim.B)]) / dur_s
        progress(len(chunk), len(chunk))
        return {**out, "rate": rate, "wall_s": time.perf_counter() - t_wall, "cpu_s": time.process_time() - t_cpu,
                "protocol_s": dur_s}

    def concat(self, parts):
        out = {k: np.concatenate([p[k] for p in parts]) for k in ("wm_base", "wm_cue", "wm_delay", "pr_rate", "rate")}
        out.update(wall_s=sum(p["wall_s"] for p in parts), cpu_s=sum(p["cpu_s"] for p in parts),
                   protocol_s=parts[0]["protocol_s"])
        return out

    def write(self, path, st, elements, result, provenance) -> Path:
        _, prov, attrs = lif_protocol_header(
            st, result, model="cognition_lif", provenance=provenance,
            seed_rule="the three conditions of a seed id share both; patterns and their order: "
                      "derive_seed(master_seed, 'cognition', 'patterns' | 'order')")
        R = len(st["labels"])
        pfc = np.zeros(R, np.int64)
        pfc[st["pfc"]] = 1
        inp = np.zeros(R, np.int64)
        inp[st["inp"]] = 1
        drive = np.zeros((st["patterns"].shape[0], R), np.int64)
        drive[:, st["inp"]] = st["patterns"]
        with atomic_h5(path, kind=KIND, provenance=prov, attrs=attrs) as f:
            write_element_ids(f, elements)
            write_array(f, "condition", np.array([int(e.grid["condition"]) for e in elements], np.int64))
            write_array(f, "labels", np.array(st["labels"], dtype=str))
            write_array(f, "prefrontal", pfc)
            write_array(f, "input", inp)
            write_array(f, "patterns", drive)
            write_array(f, "pr_label", np.asarray(st["order"], np.int64))
            for k in ("rate", "wm_base", "wm_cue", "wm_delay", "pr_rate"):
                write_array(f, k, result[k])
        return Path(path)

    def read_runs(self, path) -> dict:
        d = read_cognition(path)
        return runs_view(d, model="cognition_lif", params={"condition": d["condition"]}, metrics={"rate": d["rate"]},
                         region_labels=d["labels"], attrs=d["attrs"])


def read_cognition(path) -> dict:
    """A 'cognition' file as arrays."""
    return read_run_file(path, KIND, ("condition", "prefrontal", "input", "patterns", "pr_label", "rate", "wm_base",
                                      "wm_cue", "wm_delay", "pr_rate"))


# ------------------------------------------------------------------------ measures
def readout_accuracy(X: np.ndarray, y: np.ndarray, folds: int, C: float = 1.0, n_shuffles: int = 0,
                     seed: int = 0) -> tuple[float, np.ndarray]:
    """Stratified ``folds``-fold cross-validated accuracy of a standardised logistic-regression
    readout (scikit-learn) of ``X`` (samples x features) for labels ``y``; and the accuracies with
    ``n_shuffles`` seeded label permutations (the same folds)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, float)
    X = X[:, X.std(0) > 0] if X.shape[1] else X
    y = np.asarray(y)
    if X.shape[1] == 0:                     # nothing varies: every prediction is one class
        chance = np.bincount(y).max() / y.size
        return float(chance), np.full(n_shuffles, chance)
    cv = StratifiedKFold(folds, shuffle=True, random_state=int(seed) % (2 ** 32))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    def acc(labels):
        return float(cross_val_score(model, X, labels, cv=cv).mean())

    rng = numpy_rng(seed)
    return acc(y), np.array([acc(rng.permutation(y)) for _ in range(n_shuffles)])


def run_measures(d: dict, cfg: dict, n_shuffles: int = 0) -> dict:
    """Per-run measures (module docstring) of a :func:`read_cognition` dict."""
    pfc = d["prefrontal"] > 0
    keep = d["input"] == 0
    mem, pat = cfg["memory"], cfg["patterns"]
    base = d["wm_base"][:, :, pfc].mean((1, 2))
    cue = d["wm_cue"][:, :, pfc].mean((1, 2))
    delay = d["wm_delay"][:, :, :, pfc].mean((1, 3))                      # (B, bins)
    nb = max(1, int(round(mem["persistence_ms"] / mem["bin_ms"])))
    out = {"pfc_baseline": base, "pfc_cue_excess": cue - base, "pfc_delay_excess": delay.mean(1) - base}
    early = delay[:, :nb].mean(1) - base
    with np.errstate(invalid="ignore", divide="ignore"):
        out["persistence_pct"] = np.where(cue - base > 0, 100.0 * early / (cue - base), np.nan)
    for k in range(delay.shape[1]):
        out[f"pfc_excess_bin{k}"] = delay[:, k] - base
    B = d["rate"].shape[0]
    acc, sh = np.zeros(B), np.zeros(B)
    for b in range(B):
        a, s = readout_accuracy(d["pr_rate"][b][:, keep], d["pr_label"], int(pat["cv_folds"]), float(pat["C"]),
                                n_shuffles if d["family"][b] == "real" else 0, seed=int(d["seed"][b]))
        acc[b], sh[b] = a, (s.mean() if s.size else math.nan)
    out["accuracy"], out["accuracy_shuffled"] = acc, sh
    return out


def runs_table(paths, n_shuffles: int = 10) -> tuple["pd.DataFrame", dict, dict]:
    """(one row per run with its measures, cost, the resolved config of the files) of 'cognition' files."""
    import pandas as pd

    rows, cost, cfg = [], {"wall_s": 0.0, "cpu_s": 0.0, "protocol_s": 0.0}, None
    for p in paths:
        d = read_cognition(p)
        c = resolve_cognition({k: v for k, v in json.loads(d["attrs"]["config"]).items()})
        cfg = cfg or c
        m = run_measures(d, c, n_shuffles)
        rows.append(pd.DataFrame({"atlas": d["atlas"], "family": d["family"], "null_index": d["null_index"],
                                  "seed_id": d["seed_id"], "seed": d["seed"], "condition": d["condition"],
                                  "condition_name": [CONDITION_NAMES[int(c)] for c in d["condition"]],
                                  "rate_hz": d["rate"].mean(1), **m}))
        for k in ("wall_s", "cpu_s"):
            cost[k] += float(d["attrs"][k])
        cost["protocol_s"] = float(d["attrs"]["protocol_s"])
    if not rows:
        raise ValueError("cognition summary: no input files")
    return pd.concat(rows, ignore_index=True), cost, cfg


# ------------------------------------------------------------------------ statistics
def _interval(x) -> tuple[float, float]:
    from encephagen.learn.statistics import mean_ci

    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan, math.nan
    _m, lo, hi = mean_ci(x)
    return float(lo), float(hi)


def sign_flip_min_p(n: int, n_permutations: int) -> float:
    """Smallest attainable two-sided p of :func:`encephagen.learn.statistics.sign_flip_test` with n units."""
    from encephagen.learn.statistics import EXACT_MAX

    if n <= 0:
        return math.nan
    return 2.0 / 2 ** n if n <= EXACT_MAX else 1.0 / (n_permutations + 1)


def label_permutation_test(Xs, y, folds: int, C: float, n_perm: int, seed: int, run_seeds=None) -> dict:
    """Mean cross-validated accuracy over runs (``Xs``: one feature matrix per run, labels ``y``
    shared; ``run_seeds``: each run's seed, which sets its folds as in :func:`run_measures`) against
    the same mean with the labels permuted (one permutation applied to every run, ``n_perm`` times,
    drawn from ``seed``): p = (1 + #{perm >= observed}) / (n_perm + 1)."""
    rs = list(run_seeds) if run_seeds is not None else [seed + b for b in range(len(Xs))]
    obs = np.mean([readout_accuracy(X, y, folds, C, 0, seed=rs[b])[0] for b, X in enumerate(Xs)])
    rng = numpy_rng(derive_seed(int(seed), "label_permutation"))
    null = np.zeros(n_perm)
    for i in range(n_perm):
        yp = rng.permutation(y)
        null[i] = np.mean([readout_accuracy(X, yp, folds, C, 0, seed=rs[b])[0] for b, X in enumerate(Xs)])
    return {"observed": float(obs), "null": null, "p": float((1 + np.sum(null >= obs - 1e-12)) / (n_perm + 1)),
            "min_p": 1.0 / (n_perm + 1)}


def cognition_tests(runs, pr_features: dict | None = None, cfg: dict | None = None, n_permutations: int = 100_000,
                    label_permutations: int = 99, figure: str = "") -> "pd.DataFrame":
    """The tests (columns :data:`TEST_COLUMNS`, the interface of claim 8; no FDR here: the claims
    page applies it). ``pr_features``: {condition: (list of the real network's per-seed feature
    matrices, labels, run seeds)} for the label-permutation test (skipped when None)."""
    import pandas as pd

    from encephagen.analysis.stats import empirical_p
    from encephagen.learn.statistics import sign_flip_test

    rows = []
    key = ["atlas", "family", "null_index", "seed_id"]
    real = runs[runs.family == "real"]

    def cond(df, c, col):
        return df[df.condition == c].set_index(key)[col]

    def signflip(exp, contrast, d, control):
        d = np.asarray(d, float)
        d = d[np.isfinite(d)]
        if d.size == 0:
            return
        t = sign_flip_test(d, n_permutations)
        lo, hi = _interval(d)
        rows.append(dict(experiment=exp, contrast=contrast, unit="seed", network="real", n=t["n"], effect=t["mean"],
                         ci_low=lo, ci_high=hi, p=t["p"], min_p=sign_flip_min_p(t["n"], n_permutations),
                         control=control, figure=figure))

    # working memory
    for col, what in (("pfc_delay_excess", "prefrontal delay excess (Hz)"), ("persistence_pct", "% persistence")):
        on, off = cond(real, 1, col), cond(real, 0, col)
        signflip("working_memory", f"NMDA - no NMDA, {what}", (on - off.reindex(on.index)).to_numpy(),
                 "the same network, seed and Poisson drive without the NMDA current (paired by seed id; exact sign flip)")
        signflip("working_memory", f"NMDA on, {what} vs 0", on.to_numpy(),
                 "the pre-cue baseline (0 = no persistence; sign flip over seed ids)")
    # pattern recognition
    chance = None
    if cfg is not None:
        chance = 1.0 / int(cfg["patterns"]["n_classes"])
    for c in (1, 2):
        a = cond(real, c, "accuracy")
        if pr_features is not None and c in pr_features and chance is not None:
            Xs, y, rs = pr_features[c]
            pat = cfg["patterns"]
            lp = label_permutation_test(Xs, y, int(pat["cv_folds"]), float(pat["C"]), int(label_permutations),
                                        seed=int(cfg.get("_seed", 0)), run_seeds=rs)
            lo, hi = _interval(a.to_numpy() - chance)
            rows.append(dict(experiment="pattern_recognition",
                             contrast=f"readout accuracy - chance ({1 / chance:.0f} classes), {CONDITION_NAMES[c]}",
                             unit="seed", network="real", n=int(a.size), effect=float(lp["observed"] - chance),
                             ci_low=lo, ci_high=hi, p=lp["p"], min_p=lp["min_p"],
                             control=f"label permutation ({label_permutations} permutations of the labels, the same "
                                     f"for every seed; chance {chance:.2f}; permuted mean "
                                     f"{lp['null'].mean():.3f})", figure=figure))
    on, unc = cond(real, 1, "accuracy"), cond(real, 2, "accuracy")
    signflip("pattern_recognition", "coupled - uncoupled readout accuracy (NMDA on)",
             (on - unc.reindex(on.index)).to_numpy(),
             "the same network with G = 0 (no long-range transmission; paired by seed id)")
    # structure: real vs nulls, network as unit
    net = runs.groupby(["family", "null_index", "condition"])[["pfc_delay_excess", "persistence_pct",
                                                             "accuracy"]].mean().reset_index()
    measures = [("working_memory", 1, "pfc_delay_excess", "prefrontal delay excess (Hz), NMDA on"),
                ("working_memory", -1, "pfc_delay_excess", "NMDA - no NMDA prefrontal delay excess (Hz)"),
                ("pattern_recognition", 1, "accuracy", "readout accuracy, NMDA on"),
                ("pattern_recognition", -2, "accuracy", "coupled - uncoupled readout accuracy")]

    def values(fam, c, col):
        g = net[net.family == fam]
        if c >= 0:
            return g[g.condition == c].set_index("null_index")[col]
        a, b = (1, 0) if c == -1 else (1, 2)
        x = g[g.condition == a].set_index("null_index")[col]
        return x - g[g.condition == b].set_index("null_index")[col].reindex(x.index)

    for fam in sorted(set(net.family) - {"real"}):
        for exp, c, col, what in measures:
            r = values("real", c, col)
            if r.empty:
                continue
            rv = float(r.iloc[0])
            nv = values(fam, c, col).to_numpy(float)
            ok = nv[np.isfinite(nv)]
            if not np.isfinite(rv) or ok.size == 0:
                continue
            e = empirical_p(rv, nv)
            rows.append(dict(experiment="structure", contrast=f"real - {fam} nulls, {what}", unit="network",
                             network=fam, n=int(nv.size), effect=rv - ok.mean(),
                             ci_low=rv - np.quantile(ok, 0.975), ci_high=rv - np.quantile(ok, 0.025), p=e["p_two"],
                             min_p=1.0 / (nv.size + 1),
                             control=f"{nv.size} {fam} null networks, each the mean over its seed ids (empirical "
                                     f"two-sided p, +1 corrected; interval: real minus the nulls' 2.5-97.5 % "
                                     f"quantiles)", figure=figure))
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))
