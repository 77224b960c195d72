"""The numba kernels' own structure: chunked neuron update, the Poisson tail, spike collection and
ring offsets (the numba == torch agreement in general is tests/test_spiking_backends.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from encephagen.spiking import _numba_kernels as nk
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network


def _run(nets, seeds, backend, steps):
    sim = LIFBatch(nets, seeds, backend=backend)
    sim.random_initial_state()
    ks, ii = [], []
    while sim.t < steps:
        b = sim.step_block(min(sim.K, steps - sim.t))
        ks.append(b.k + b.t0)
        ii.append(b.i)
    return sim, torch.cat(ks).numpy(), torch.cat(ii).numpy()


def test_partial_chunks_and_poisson_tail_match_torch(monkeypatch):
    """Neuron counts that are no multiple of the chunk or of 8, and a drive of ~5 events per step
    (counts >= 8, the branch after the branch-free thresholds, in ~13 % of draws): identical to torch."""
    monkeypatch.setattr(nk, "CHUNK", 96)
    nets = [brunel_network(n_e=803, n_i=200, c_e=80, c_i=20, J=0.02, eta=1.2, seed=s) for s in (1, 2)]
    st, kt, it = _run(nets, [4, 5], "torch", 300)
    sn, kn, in_ = _run(nets, [4, 5], "numba", 300)
    assert sn._cs.shape[0] > 2 and sn.N % sn._cs.shape[1] != 0 and sn.N % 8 != 0
    lam = float(nets[0].ext_rate[0] * nets[0].dt / 1000.0)
    p_tail = 1.0 - sn.icdf_np[0, nk.N_THRESHOLDS - 1] / 2**32
    assert lam > 4 and p_tail > 0.05, (lam, p_tail)
    assert len(it) > 200
    assert np.array_equal(kt, kn) and np.array_equal(it, in_)
    for name in ("v", "ie", "ii", "inm", "ref", "buf"):
        assert torch.equal(getattr(st, name), getattr(sn, name)), name


def test_collect_lists_spikes_in_step_then_neuron_order_and_clears():
    rng = np.random.default_rng(0)
    spk = (rng.random((5, 1003)) < 0.01).astype(np.uint8)
    spk[1, -1] = spk[3, 1000] = spk[4, 0] = 1   # the ragged end and the first neuron
    k_ref, i_ref = np.nonzero(spk[:4])
    out_k = np.empty(spk.size, np.int64)
    out_i = np.empty(spk.size, np.int64)
    m = nk.collect(spk, 4, out_k, out_i)
    assert m == len(k_ref)
    assert np.array_equal(out_k[:m], k_ref) and np.array_equal(out_i[:m], i_ref)
    assert not spk[:4].any() and spk[4, 0] == 1


def test_delivery_offsets_widen_past_int32():
    d = np.array([1, 3], np.int32)
    code = np.array([5, 7], np.int64)
    small = nk.delivery_offsets(d, code, nslots=4, n_total=10)
    assert small.dtype == np.int32 and small.tolist() == [1 * 20 + 5, 3 * 20 + 7]
    big = nk.delivery_offsets(d, code, nslots=4, n_total=2**29)
    assert big.dtype == np.int64 and big.tolist() == [2**30 + 5, 3 * 2**30 + 7]


def _csr_reference(n, src, tgt, chan, wpsp, d, tau_m, tau_e, tau_i):
    """The numpy builder the compiled one replaced: weights, then a stable sort by (source, target)."""
    tau_syn = np.where(chan == 0, tau_e, tau_i)
    w = (wpsp * tau_m[tgt].astype(np.float64) / tau_syn).astype(np.float32)
    order = np.lexsort((tgt, src))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, tgt[order].astype(np.int32), chan[order].astype(np.int8), w[order], d[order].astype(np.int32)


def test_build_csr_equals_the_numpy_reference_on_unsorted_synapses():
    """Targets in random order (rows need the sort), multapses, per-neuron tau_m and both channels:
    the compiled builder gives the reference's arrays bit for bit; uniform tau_m takes the other branch."""
    rng = np.random.default_rng(1)
    n, nnz = 300, 5000
    src = rng.integers(0, n, nnz)
    tgt = rng.integers(0, n, nnz).astype(np.int32)
    src[:50], tgt[:50] = 7, 9   # multapses
    chan = (src >= 240).astype(np.int8)
    wpsp = np.where(chan == 0, 0.3, -1.7) * rng.uniform(0.5, 1.5, nnz)
    d = rng.integers(1, 40, nnz).astype(np.int32)
    for tau_m in (rng.uniform(10, 30, n).astype(np.float32), np.full(n, 20.0, np.float32)):
        got = nk.build_csr(n, src, tgt, chan, wpsp, d, tau_m, 5.0, 8.0)
        ref = _csr_reference(n, src, tgt, chan, wpsp, d, tau_m, 5.0, 8.0)
        for a, b in zip(got, ref):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_fixed_indegree_csr_equals_the_generic_builder():
    rng = np.random.default_rng(2)
    n, ce, ci = 120, 9, 3
    src_e = rng.integers(0, 96, (n, ce))
    src_i = rng.integers(96, n, (n, ci))
    we, wi = np.float32(0.4), np.float32(-2.0)
    got = nk.csr_fixed_indegree(src_e, src_i, we, wi, 15)
    src = np.concatenate([src_e, src_i], axis=1).ravel()
    tgt = np.repeat(np.arange(n, dtype=np.int32), ce + ci)
    chan = np.tile(np.r_[np.zeros(ce, np.int8), np.ones(ci, np.int8)], n)
    wpsp = np.where(chan == 0, 0.4, -2.0)
    ref = nk.build_csr(n, src, tgt, chan, wpsp, np.full(src.size, 15, np.int32), np.full(n, 5.0, np.float32), 5.0, 5.0)
    for a, b in zip(got, ref):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_hot_delay_is_the_majority_delay_or_none():
    assert nk.hot_delay(np.array([15, 15, 15, 3], np.int32)) == 15
    assert nk.hot_delay(np.array([4, 4, 7, 9], np.int32)) == 4          # exactly half
    assert nk.hot_delay(np.array([4, 5, 7, 9, 4], np.int32)) == -1      # no majority
    assert nk.hot_delay(np.array([], np.int32)) == -1


def test_delivery_sums_do_not_depend_on_the_slot_stream_in_or_partitions():
    """The hot slot's stream-in only reads: any ``hot`` (or none), one or three target partitions (one
    empty), rows
    whose offsets wrap around the ring, heterogeneous delays: the ring equals a serial numpy
    scatter-add in spike order bit for bit."""
    rng = np.random.default_rng(2)
    n, S, nnz = 203, 9, 6000
    src = np.sort(rng.integers(0, n, nnz))
    tgt = rng.integers(0, n, nnz)
    o = np.lexsort((tgt, src))
    src, tgt = src[o], tgt[o]
    chan = (src % 5 == 0).astype(np.int64)
    code = chan * n + tgt
    delay = rng.integers(1, S - 2, nnz).astype(np.int32)
    delay[rng.random(nnz) < 0.6] = 4
    weight = rng.standard_normal(nnz).astype(np.float32)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    pos = nk.delivery_offsets(delay, code, S, n)
    spk_k = np.repeat(np.arange(3), 40)
    spk_i = np.concatenate([np.sort(rng.choice(n, 40, replace=False)) for _ in range(3)])
    t0 = 7   # slots 7, 8, 0: offsets wrap
    buf0 = rng.standard_normal(S * 2 * n).astype(np.float32)
    ref = buf0.copy()
    for k, i in zip(spk_k, spk_i):
        for s in range(indptr[i], indptr[i + 1]):
            a = ((t0 + k) % S) * 2 * n + pos[s]
            ref[a % ref.size] += weight[s]
    assert nk.hot_delay(delay) == 4
    indeg = np.bincount(tgt, minlength=n)
    for bounds in (np.array([0, n]), nk.part_bounds(indeg, 3, align=8), np.array([0, 64, 64, n])):
        pp = nk.partition_pointers(indptr, code, n, bounds)
        for hot in (-1, 0, 4, S - 1):
            buf = buf0.copy()
            nk.deliver(t0, spk_k, spk_i, spk_k.size, S, pp, bounds, pos, weight, buf, hot)
            assert np.array_equal(buf, ref), (bounds, hot)


def _connectome_pair():
    """The backends' and golden tests' two 6-region connectome networks (NMDA and tau_m per region)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_spiking_backends import _connectome_nets

    return list(_connectome_nets())


def test_fused_blocks_equal_separate_launches_with_outside_access(monkeypatch):
    """Fused blocks (the previous block's delivery and this block's update in one launch per
    partition; three partitions of unequal in-degree) by the helper-thread team and by a numba
    parallel launch give the spikes, mid-run ring and final state of separate update and delivery
    launches bit for bit, with partial blocks, weights written between blocks (delivered spikes of
    the last block must use the weights it ended with) and a switch to separate launches mid-run.
    A fused block that forgot the pending spikes, or delivered them after the weight write, fails."""
    import numba

    nets = _connectome_pair()
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    out = {}
    for mode in ("separate", "numba", "team"):
        sim = LIFBatch(nets, [10, 11], backend="numba")
        assert sim.nparts == 3 and len(set(np.diff(sim.bounds).tolist())) > 1   # unequal partitions
        sim.FUSE_BLOCKS = mode != "separate"
        sim.FUSED_RUNNER = mode
        sim.random_initial_state()
        ks, ii, mid = [], [], None
        sizes = [sim.K, 1, sim.K - 1, 3]
        q = 0
        while sim.t < 900:
            if sim.t >= 300 and mid is None:
                sim.weight[::7] *= 1.5               # outside write between blocks
                mid = sim.buf.clone()                 # outside read between blocks
            if sim.t >= 600:
                sim.FUSE_BLOCKS = False
            b = sim.step_block(min(sizes[q % 4], 900 - sim.t))
            q += 1
            ks.append((b.k + b.t0).numpy())
            ii.append(b.i.numpy())
        out[mode] = (np.concatenate(ks), np.concatenate(ii), mid,
                     [x.clone() for x in (sim.v, sim.ie, sim.ii, sim.inm, sim.ref, sim.buf, sim.weight)])
    k0, i0, m0, s0 = out["separate"]
    assert len(i0) > 300
    for mode in ("numba", "team"):
        k, i, m, s = out[mode]
        assert np.array_equal(k, k0) and np.array_equal(i, i0), mode
        assert torch.equal(m, m0), mode
        for a, b in zip(s, s0):
            assert torch.equal(a, b), mode


def test_part_bounds_balance_cost_on_cache_line_boundaries():
    deg = np.r_[np.full(640, 10), np.full(640, 30)]    # the second half costs 1 + 1.5, the first 1 + 0.5
    b = nk.part_bounds(deg, 2)
    assert b[0] == 0 and b[-1] == deg.size and b[1] % 64 == 0
    cost = 1 + deg / deg.mean()
    assert abs(cost[:b[1]].sum() - cost[b[1]:].sum()) <= 64 * cost.max()
    assert b[1] > 640                                   # the cheap half gets more neurons
    cb, cpart = nk.chunk_bounds(b, 300)
    assert cb[0] == 0 and cb[-1] == deg.size and set(b.tolist()) <= set(cb.tolist())
    assert np.diff(cb).max() <= 300 and np.all(np.diff(cb) > 0)
    assert cpart.tolist() == np.searchsorted(cb, b).tolist()
    tiny = nk.part_bounds(np.ones(50), 3)               # fewer neurons than a cache line per partition
    assert tiny[0] == 0 and tiny[-1] == 50 and np.all(np.diff(tiny) >= 0)


def test_uniform_rows_give_the_same_ring_addresses_or_refuse():
    """A row's 2-byte target offsets from its base address are exactly its ``pos`` entries; a row with
    a second weight (even -0.0 against 0.0), a second delay or a target span >= 65,536 is refused."""
    n = 70000
    indptr = np.array([0, 3, 3, 5], np.int64)                  # rows 0, 1 (empty), 2; the rest empty
    indptr = np.r_[indptr, np.full(n - 3, 5, np.int64)]
    code = np.array([5, 9, 12, n + 40, n + 41], np.int64)       # row 2 on the inhibitory channel
    delay = np.array([3, 3, 3, 7, 7], np.int32)
    weight = np.array([0.5, 0.5, 0.5, -2.0, -2.0], np.float32)
    ok, rbase, rw, tg = nk.uniform_rows(indptr, code, delay, weight, n)
    assert ok
    pos = nk.delivery_offsets(delay, code, 10, n)
    src = np.repeat(np.arange(n), np.diff(indptr))
    assert np.array_equal(rbase[src] + tg, pos) and rw[0] == 0.5 and rw[2] == -2.0
    for w2, d2, c2 in ((np.float32(0.25), 3, 9), (np.float32(0.5), 4, 9), (np.float32(0.5), 3, 5 + 65536)):
        bad_w, bad_d, bad_c = weight.copy(), delay.copy(), code.copy()
        bad_w[1], bad_d[1], bad_c[1] = w2, d2, c2
        assert not nk.uniform_rows(indptr, bad_c, bad_d, bad_w, n)[0], (w2, d2, c2)
    zw = np.array([0.0, -0.0, 0.0, -2.0, -2.0], np.float32)
    assert not nk.uniform_rows(indptr, code, delay, zw, n)[0]


def test_outside_weight_access_turns_uniform_rows_off():
    net = brunel_network(n_e=160, n_i=40, c_e=16, c_i=4, J=0.2, eta=1.3, seed=1)
    sim = LIFBatch([net], [1], backend="numba")
    assert sim._rows
    sim.step_block()
    _ = sim.buf                  # reading the ring delivers, keeps the rows
    assert sim._rows and sim._pm == 0
    sim.weight[:3] *= 2.0        # the weights may differ now: per-synapse weights from here on
    assert not sim._rows


def test_team_hands_a_helpers_error_to_the_caller_and_stays_usable():
    """An exception in a helper thread's partition reaches the caller (after every partition ended),
    and the helper threads run the next block."""
    from encephagen.spiking.engine import _TEAM

    seen = []

    def part(p, fail):
        seen.append(p)
        if fail and p == 2:
            raise ValueError("partition 2 failed")

    with pytest.raises(ValueError, match="partition 2 failed"):
        _TEAM.run(part, 3, (True,))
    assert sorted(seen) == [0, 1, 2]
    seen.clear()
    _TEAM.run(part, 3, (False,))
    assert sorted(seen) == [0, 1, 2]
