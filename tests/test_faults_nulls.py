"""Rewiring graphs that cannot (or can hardly) be rewired: RELIABILITY.md plan case 14.

bctpy's randmio_und returns a complete graph unchanged without a warning and loops forever on
a star graph. encephagen.nulls must report achieved vs requested swaps, refuse below a stated
threshold (never a silent copy of the input), and end in bounded time: each generator runs in
a subprocess with a hard timeout, so a hang fails the test instead of stalling CI.
(tests/test_nulls_families.py covers the complete hcp80 graph and the 93 %-dense geometry
refusal; this file adds the synthetic complete / 95 %-dense / star cases end to end.)
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from encephagen.connectome import Connectome
from encephagen.nulls import NullRefusal, generate_batch, generate_null, prepare_source, read_nulls
from encephagen.steps.nulls import write_null_batch

MASTER = 7


def _graph(kind: str, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(3)
    if kind == "complete":
        A = np.ones((n, n), bool)
    elif kind == "dense95":
        A = np.triu(rng.random((n, n)) < 0.95, 1)
        A = A | A.T
    elif kind == "star":
        A = np.zeros((n, n), bool)
        A[0, 1:] = A[1:, 0] = True
    else:
        raise ValueError(kind)
    np.fill_diagonal(A, False)
    W = np.triu(rng.uniform(0.1, 1.0, (n, n)), 1)
    W = (W + W.T) * A
    return W


def _connectome(W, name):
    n = W.shape[0]
    rng = np.random.default_rng(0)
    centres = rng.random((n, 3)) * 100
    D = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    return Connectome(name=name, weights=W, lengths=np.where(W != 0, D + 1.0, 0.0),
                      labels=tuple(f"r{i}" for i in range(n)), hemisphere=("",) * n,
                      cortical=np.ones(n, bool), region_class=("",) * n, directed=False,
                      weight_kind="synthetic", lengths_source="synthetic", licence="-", citation="-",
                      centres=centres, distances=D)


_CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_faults_nulls import _graph, _connectome
    from encephagen.nulls import NullRefusal, generate_null, prepare_source
    kind, families, params = sys.argv[1], sys.argv[2].split(","), json.loads(sys.argv[3])
    src = prepare_source(_connectome(_graph(kind), kind))
    out = {{}}
    for family in families:
        try:
            r = generate_null(src, family, 11, params)
            out[family] = {{"ok": True, "requested": r.swaps_requested, "achieved": r.swaps_achieved,
                           "changed": bool((r.weights != src.weights).any()), "edges": src.n_edges}}
        except NullRefusal as exc:
            out[family] = {{"ok": False, "reason": exc.reason}}
    print(json.dumps(out))
    """)


def _bounded(kind, family, params=None, timeout=120):
    """Run generators (``family``: one name or comma-separated names) in a subprocess; a hang
    past ``timeout`` fails the test. Returns the outcome (dict of outcomes for several)."""
    from pathlib import Path

    code = _CHILD.format(tests=str(Path(__file__).parent))
    try:
        r = subprocess.run([sys.executable, "-c", code, kind, family, json.dumps(params or {})],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{family} on a {kind} graph did not end within {timeout} s")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out if "," in family else out[family]


def test_complete_graph_refused_never_copied():
    out = _bounded("complete", "degree,degree_connected,richclub,geometry,er")
    for family, o in out.items():
        assert not o["ok"] and "complete graph" in o["reason"], (family, o)


def test_star_graph_refused_in_bounded_time():
    """Default settings (bctpy's randmio_und would loop forever here)."""
    out = _bounded("star", "degree,degree_connected,strength,richclub")
    for family, why in (("degree", "star-like"), ("degree_connected", "star-like"),
                        ("strength", "star-like"), ("richclub", "no rich club")):
        assert not out[family]["ok"] and why in out[family]["reason"], (family, out[family])


def test_dense_graph_reports_achieved_vs_requested_and_refuses_below_threshold():
    """95 % dense: swaps are rare. Below the default threshold (0.5 swaps per edge) the null
    is refused, naming achieved and requested swaps; with a lower, explicit threshold it is
    made, and reports fewer achieved swaps than requested."""
    out = _bounded("dense95", "degree")
    assert not out["ok"]
    m = re.search(r"only (\d+) of (\d+) requested swaps achieved \(([\d.]+) per edge, minimum 0.5", out["reason"])
    assert m, out["reason"]
    achieved, requested = int(m.group(1)), int(m.group(2))
    assert 0 < achieved < requested
    lax = _bounded("dense95", "degree", {"min_swaps_per_edge": 0.1})
    assert lax["ok"] and lax["changed"]
    assert (lax["achieved"], lax["requested"]) == (achieved, requested), "same seed, same rewiring"


def test_swap_counts_and_refusals_are_recorded_in_the_batch_file(tmp_path):
    """What is reported in memory is what lands in the validated nulls file: per-null
    requested/achieved swaps, and a skipped family's reason (an empty batch, not a copy)."""
    dense = prepare_source(_connectome(_graph("dense95"), "dense95"))
    refused = generate_batch(dense, "degree", range(2), MASTER, atlas="dense95", on_refusal="skip")
    back = read_nulls(write_null_batch(tmp_path / "refused.h5", refused))
    assert back.skipped and "requested swaps achieved" in back.reason and len(back) == 0
    b = generate_batch(dense, "degree", range(2), MASTER, atlas="dense95", params={"min_swaps_per_edge": 0.1})
    back = read_nulls(write_null_batch(tmp_path / "dense.h5", b))
    assert back.swaps_requested.tolist() == b.swaps_requested.tolist()
    assert back.swaps_achieved.tolist() == b.swaps_achieved.tolist()
    assert (back.swaps_achieved < back.swaps_requested).all() and (back.swaps_achieved > 0).all()
    assert json.loads(back.params if isinstance(back.params, str) else json.dumps(dict(back.params)))[
        "min_swaps_per_edge"] == 0.1
    star = prepare_source(_connectome(_graph("star", 12), "star"))
    with pytest.raises(NullRefusal, match="star-like"):
        generate_null(star, "degree", 1, {"max_degenerate": 2000})
    s = generate_batch(star, "degree", range(3), MASTER, atlas="star", on_refusal="skip",
                       params={"max_degenerate": 2000})
    back = read_nulls(write_null_batch(tmp_path / "star.h5", s))
    assert back.skipped and "star-like" in back.reason and back.weights.shape == (0, 12, 12)
