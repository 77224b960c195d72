"""The study layer: a torch-free config module, one error class, one expansion and seed rule, the
engine registry by model name and kind, and an engine added from outside through the protocol."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from encephagen.seeds import derive_seed
from encephagen.study import (Engine, Network, engine_for_kind, engine_for_model, expand, get_engine, parameter_sets,
                              register_engine, run_study)
from encephagen.study import config as sc
from encephagen.study import engine as se

REPO = Path(__file__).resolve().parents[1]


def test_study_config_imports_without_torch():
    """The workflow parses its rules with these helpers; a torch import there costs every job seconds."""
    code = ("import sys, encephagen.study, encephagen.study.config as c; "
            "c.resolve_config({'model': 'hopf', 'G': [0.1]}); c.model_config({'model': ['wc', 'hopf']}, 'hopf'); "
            "c.presweep_grid(c.operating_point({})); c.check_simulation_config({'simulate': {}}); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False", out.stderr


def test_one_parameter_error_class():
    from encephagen.hopf.linear import HopfParameterError
    from encephagen.study.engines.neural_mass import resolve_config
    from encephagen.sim.models import ParameterError

    assert sc.ParameterError is ParameterError is HopfParameterError
    with pytest.raises(ParameterError, match="simulate.nope"):
        resolve_config({"nope": 1})
    with pytest.raises(ParameterError, match="spiking.monitors.nope"):
        sc.resolve_spiking({"monitors": {"nope": 1}})


def test_defaults_are_the_schemas_not_copies():
    from encephagen.hopf.study import DEFAULTS as H
    from encephagen.schemas import section_defaults
    from encephagen.study.engines.neural_mass import DEFAULTS as S
    from encephagen.study.engines.lif import DEFAULTS as L

    assert S is sc.SIM_DEFAULTS and L is sc.LIF_DEFAULTS and H is sc.HOPF_DEFAULTS
    assert S == section_defaults("simulate") and L == section_defaults("spiking")
    assert {**H, "enabled": section_defaults("hopf")["enabled"]} == section_defaults("hopf")


def test_expansion_order_and_seed_rule():
    nets = [Network("a", "real", 0, np.eye(2), None), Network("a", "degree", 3, np.eye(2), None)]
    ps = parameter_sets([0.1, 0.2], {"x": [1.0, 2.0]})
    assert ps == [(0.1, {"x": 1.0}), (0.1, {"x": 2.0}), (0.2, {"x": 1.0}), (0.2, {"x": 2.0})]
    el = expand(nets, ps, [0, 5], master_seed=7, streams=("build",))
    assert len(el) == 2 * 2 * 4
    assert [(e.net, e.seed_id) for e in el[::4]] == [(0, 0), (0, 5), (1, 0), (1, 5)]
    e = el[-1]
    assert e.seed == derive_seed(7, "a", "degree", 3, 5)
    assert e.seeds["build"] == derive_seed(7, "a", "degree", 3, 5, "build")
    # a network's seeds do not depend on the other networks of the study (nor on its position)
    alone = expand(nets[1:], ps, [0, 5], master_seed=7)
    assert [x.seed for x in alone] == [x.seed for x in el[8:]]
    with pytest.raises(ValueError, match="master_seed"):
        expand(nets, ps, [0], None)


def test_registry_by_model_and_kind():
    assert engine_for_model("lif").kind == "spiking"
    assert engine_for_model("wc").name == engine_for_model("hopf").name == "neural_mass"
    assert engine_for_kind("hopf_sweep").section == "hopf"
    assert se.engine_section("lif") == "spiking" and se.engine_section("wilson_cowan") == "simulate"
    for name in se.ENGINES:
        assert isinstance(get_engine(name), Engine)
    with pytest.raises(sc.ParameterError, match="no engine writes files of kind 'nope'"):
        engine_for_kind("nope")


class InStrengthEngine:
    """A deterministic toy engine: each run's metric is G x the in-strength of its network."""

    name, kind, section, streams, allow_empty = "in_strength", "in_strength_runs", "in_strength", (), False

    def prepare(self, section, seeds_per_network=None, device=None):
        return {"G": list((section or {}).get("G", [1.0])), "seeds_per_network": seeds_per_network or 1}

    def parameter_sets(self, cfg):
        return parameter_sets(cfg["G"])

    def setup(self, cfg, nets, **context):
        return {"nets": nets}

    def batch_size(self, st):
        return 3

    def run_chunk(self, st, chunk, progress):
        out = np.stack([e.G * st["nets"][e.net].weights.sum(axis=1) for e in chunk])
        progress(len(chunk), len(chunk))
        return out

    def concat(self, parts):
        return np.concatenate(parts)

    def write(self, path, st, elements, result, provenance):
        with h5py.File(path, "w") as f:
            f.attrs["encephagen_kind"] = self.kind
            f["seed"] = [e.seed for e in elements]
            f["strength"] = result
        return Path(path)

    def read_runs(self, path):
        with h5py.File(path, "r") as f:
            return {"seed": f["seed"][()], "metrics": {"strength": f["strength"][()]}, "attrs": {"model": self.name}}


def test_an_engine_added_through_the_protocol(tmp_path):
    register_engine("in_strength", f"{__name__}:InStrengthEngine", kind="in_strength_runs")
    try:
        w = np.array([[0.0, 1.0], [2.0, 0.0]])
        out = run_study("in_strength", {"G": [1.0, 3.0]}, [("a", "real", 0, w, None), ("a", "x", 1, 2 * w, None)],
                        7, tmp_path / "r.h5", seeds_per_network=2)
        d = se.read_runs(out)            # found by the file's kind
        assert d["metrics"]["strength"].shape == (8, 2)     # 2 networks x 2 seed ids x 2 G, in 3 chunks
        np.testing.assert_array_equal(d["metrics"]["strength"][-1], [6.0, 12.0])
        assert d["seed"][0] == derive_seed(7, "a", "real", 0, 0)
    finally:
        se.ENGINES.pop("in_strength", None)
        se.KINDS.pop("in_strength_runs", None)
        se._LOADED.pop("in_strength", None)


def test_hopf_engine_writes_a_skipped_batch(tmp_path):
    """A family the nulls stage refused (no networks) still gives a hopf_sweep file saying so."""
    from encephagen.hopf.study import HopfLinearEngine, read_sweep

    n = 4
    F = np.corrcoef(np.random.default_rng(0).normal(size=(n, 50)))
    batch = dict(weights=np.empty((0, n, n)), null_index=np.zeros(0, np.int64), seed=np.zeros(0, np.int64),
                 family="rewire", atlas="x", labels=tuple("abcd"), status="skipped", reason="complete graph")
    out = run_study(HopfLinearEngine(), {}, [], 0, tmp_path / "s.h5", hopf_section={}, batch=batch, fc_train=F,
                    fc_test=F, ids=dict(atlas="x", train="a", test="b"))
    s = read_sweep(out)
    assert s["status"] == "skipped" and s["r_train_pearson"].shape == (0, s["G"].size)
    with pytest.raises(sc.ParameterError, match="no networks"):
        run_study("neural_mass", {"G": [0.1]}, [], 0, tmp_path / "n.h5")


def test_silencing_rule_from_the_registry():
    """The silencing order's rule per model: analysis.silencing for neural masses, the engine's own
    (registered) rule otherwise, its threshold read from the engine's section."""
    cfg = {"analysis": {"silencing": {"metric": "silenced", "threshold": 0.5, "below": False}},
           "spiking": {"monitors": {"silent_hz": 0.25}}, "plasticity": {"floor": 3.0}}
    assert se.silencing_rule("wc", cfg) == cfg["analysis"]["silencing"]
    assert se.silencing_rule("lif", cfg) == {"metric": "rate", "threshold": 0.25, "below": True}
    register_engine("plastic_x", f"{__name__}:InStrengthEngine", model="plastic_x", section="plasticity",
                    silencing={"metric": "weight", "threshold": "floor", "below": True})
    try:
        assert se.engine_section("plastic_x") == "plasticity"
        assert se.silencing_rule("plastic_x", cfg) == {"metric": "weight", "threshold": 3.0, "below": True}
    finally:
        sc.ENGINE_MODELS.pop("plastic_x", None)
        sc.ENGINE_SILENCING.pop("plastic_x", None)
        se.ENGINES.pop("plastic_x", None)
        se._LOADED.pop("plastic_x", None)


def test_rule_files_name_no_engine_model():
    """A new engine needs no rule-file edits: the rules ask the registry (engine_section,
    silencing_rule), they never compare a model with an engine's name (they did: `lif` in ~12 places)."""
    import re

    names = sorted(sc.ENGINE_MODELS)
    bad = []
    for p in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for i, line in enumerate(p.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(re.search(rf"[\"']{re.escape(n)}[\"']", code) for n in names):
                bad.append(f"{p.name}:{i}: {line.strip()}")
    assert not bad, "rule files special-case an engine's model:\n  " + "\n  ".join(bad)

