"""Bad connectome input: one clear error per property, naming the source and the culprit;
seeds: explicit, documented, seed 0 real, keys never positional (RELIABILITY.md cases 11-13, 17)."""
import numpy as np
import pytest

from encephagen.connectome import Connectome, ConnectomeError, n_components, validate_connectome
from encephagen.io import OutputError
from encephagen.seeds import derive_seed, numpy_rng


def _ok(n=4):
    w = np.ones((n, n)) - np.eye(n)
    return w, w * 10.0


def _connectome(w, L, name="toy", directed=True):
    n = w.shape[0]
    return Connectome(name=name, weights=w, lengths=L, labels=tuple(f"r{i}" for i in range(n)),
                      hemisphere=("L",) * n, cortical=np.ones(n, bool), region_class=("x",) * n,
                      directed=directed, weight_kind="test", lengths_source="test", licence="CC0",
                      citation="none")


@pytest.mark.parametrize("mutate, words", [
    (lambda w, L: w.__setitem__((1, 2), np.nan), ["non-finite", "i=1, j=2"]),
    (lambda w, L: w.__setitem__((3, 0), np.inf), ["non-finite", "i=3, j=0"]),
    (lambda w, L: w.__setitem__((0, 1), -0.5), ["negative", "i=0, j=1"]),
    (lambda w, L: w.__setitem__((2, 2), 1.0), ["diagonal", "region 2"]),
    (lambda w, L: L.__setitem__((0, 3), np.nan), ["lengths", "non-finite", "i=0, j=3"]),
    (lambda w, L: L.__setitem__((1, 0), -1.0), ["lengths", "negative"]),
    (lambda w, L: L.__setitem__((2, 1), 0.0), ["zero length", "i=2, j=1"]),
])
def test_one_error_per_property(mutate, words):
    w, L = _ok()
    mutate(w, L)
    with pytest.raises(ConnectomeError) as ei:
        validate_connectome(w, L, name="toy")
    msg = str(ei.value)
    assert msg.startswith("toy:")
    for word in words:
        assert word in msg


def test_shape_and_count_and_symmetry():
    with pytest.raises(ConnectomeError, match="square"):
        validate_connectome(np.ones((3, 4)), name="toy")
    with pytest.raises(ConnectomeError, match="3 regions are labelled"):
        validate_connectome(_ok()[0], name="toy", n_expected=3)
    w, L = _ok()
    w[0, 1] = 2.0
    with pytest.raises(ConnectomeError, match="asymmetric.*i=0, j=1"):
        validate_connectome(w, L, name="toy", directed=False)
    validate_connectome(w, L, name="toy", directed=True)  # directed: fine


def test_isolated_nodes_policy():
    w, L = _ok(5)
    w[4, :] = 0
    w[:, 4] = 0
    with pytest.raises(ConnectomeError, match=r"isolated regions.*\[4\]"):
        validate_connectome(w, L, name="toy", isolated="error")
    with pytest.warns(UserWarning, match=r"\[4\]"):
        validate_connectome(w, L, name="toy", isolated="warn")
    validate_connectome(w, L, name="toy", isolated="allow")
    assert n_components(w) == 2


def test_load_names_the_file(tmp_path):
    w, L = _ok()
    good = _connectome(w, L)
    p = good.save(tmp_path / "toy.h5")
    back = Connectome.load(p)
    np.testing.assert_array_equal(back.weights, w)
    assert back.labels == good.labels
    # a NaN smuggled into a saved file is caught at load, naming the file and (i, j)
    import h5py

    with h5py.File(p, "r+") as f:
        f["weights"][2, 3] = np.nan
    with pytest.raises(ConnectomeError) as ei:
        Connectome.load(p)
    assert str(p) in str(ei.value) and "i=2, j=3" in str(ei.value)
    with pytest.raises(OutputError, match="missing"):
        Connectome.load(tmp_path / "nope.h5")


def test_seeds_are_explicit_and_keyed():
    a = derive_seed(0, "tvb96", "degree", 3, 0)
    assert a == derive_seed(0, "tvb96", "degree", 3, 0)  # reproducible
    assert a != derive_seed(1, "tvb96", "degree", 3, 0)  # master matters; 0 is a real seed
    assert a != derive_seed(0, "tvb96", "degree", 3, 1)  # seed id matters
    assert a != derive_seed(0, "tvb96", "strength", 3, 0)
    assert 0 <= a < 2**63
    with pytest.raises(ValueError, match="master seed is missing"):
        derive_seed(None, "x")
    with pytest.raises(ValueError, match="non-negative"):
        derive_seed(0, -1)
    with pytest.raises(TypeError):
        derive_seed(0, 1.5)
    x = numpy_rng(a).random(3)
    np.testing.assert_array_equal(x, numpy_rng(a).random(3))
