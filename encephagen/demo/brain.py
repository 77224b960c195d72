"""The demo's brain: a spiking network on a connectome with sensory inputs, motor pools and a
plastic sensorimotor pathway learning by reward-modulated STDP.

Network (:func:`encephagen.spiking.connectome_network`, nothing re-implemented): one population of
``n_per_region`` LIF neurons (80 % excitatory) per region of the connectome, membrane time
constants from the regions' T1w/T2w values, long-range delays from tract lengths, feedforward
inhibition (long-range efficacy onto inhibitory cells x ``ffi_scale``), and an NMDA-like slow
excitatory current in the prefrontal regions (``nmda_ratio`` of the fast synaptic charge,
``tau_nmda``). Regions are picked by the hand-reviewed region classes of
:mod:`encephagen.data.tables` (never by label spelling): input neurons are the excitatory cells of
the primary visual / auditory / somatosensory regions (the whole class if the atlas has no
primary subclass), motor pools the excitatory cells of the primary motor regions (``motor``
class), split into four interleaved pools (up, down, left, right).

Plastic pathway: from the visual input neurons to the motor-pool neurons, Bernoulli(``p_sm``),
initial efficacy ``j_sm`` mV, delay = region-centre distance / velocity. Its weights learn by
:class:`encephagen.plasticity.RSTDP` (eligibility from the STDP window on 1 ms spike bins, then
``dw = eta (r - b) c`` at a reward); the engine transmits the learned weights. Everything else is
fixed.

Stimulation changes neurons' external Poisson rates (the stimulus rate is added to the
background, rounded to ``rate_step`` Hz so the Poisson tables stay small).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from encephagen.demo.decoder import MotorDecoder
from encephagen.demo.encoders import AuditoryEncoder, TouchEncoder, VisualEncoder
from encephagen.demo.gridworld import ACTIONS
from encephagen.data import load_connectome, load_t1t2, region_rows
from encephagen.plasticity import RSTDP, RSTDPParams, STDPParams
from encephagen.spiking import LIFBatch, LIFParams, connectome_network, tau_m_from_t1t2
from encephagen.spiking._numba_kernels import csr_order
from encephagen.spiking.network import check_dale, delay_steps
from encephagen.spiking.rng import poisson_threshold_table


@dataclass
class BrainConfig:
    atlas: str = "tvb96"
    n_per_region: int = 200
    seed: int = 0
    dt: float = 0.1
    J: float = 1.0
    g: float = 5.0
    eta: float = 0.8
    G: float = 1.0
    p_between: float = 0.01
    ffi_scale: float = 3.0
    nmda: bool = True
    nmda_ratio: float = 0.3
    nmda_class: str = "prefrontal"
    t1t2: bool = True
    stim_rate: float = 400.0      # Hz added at full stimulus (per neuron)
    rate_step: float = 5.0        # Hz: stimulus rates rounded to this
    p_sm: float = 0.2
    j_sm: float = 0.3             # mV initial efficacy of the plastic pathway
    w_max_sm: float = 3.0         # mV upper bound of the plastic pathway
    lam: float = 0.02
    alpha: float = 0.5
    eta_rstdp: float = 2.0
    tau_c: float = 1000.0
    decoder_tau: float = 0.0
    execute_ms: float = 50.0      # action execution after a decision: the phase whose spikes learn
    decoder_center: bool = True   # actions relative to each pool's running mean (decoder.py)
    decoder_center_tau: float = 10000.0  # ms: those running means' time constant (1000: learned mappings adapted away)
    credit: str = "chosen"        # R-STDP credit: "chosen" = only synapses onto the acting pool; "all" = every one

    def lif_params(self) -> LIFParams:
        ne = int(round(0.8 * self.n_per_region))
        return LIFParams(n_e=ne, n_i=self.n_per_region - ne, J=self.J, g=self.g, eta=self.eta, G=self.G,
                         p_between=self.p_between, ffi_scale=self.ffi_scale, nmda_ratio=self.nmda_ratio)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _pick(rows, region_class: str, primary: str | None) -> np.ndarray:
    """Regions of ``region_class``; only its ``primary`` subclass if the atlas has one."""
    cls = np.array([r["region_class"] for r in rows])
    sub = np.array([r.get("subclass", "") for r in rows])
    sel = np.flatnonzero((cls == region_class) & (sub == primary)) if primary else np.zeros(0, int)
    return sel if sel.size else np.flatnonzero(cls == region_class)


class DemoBatch(LIFBatch):
    """LIFBatch with external Poisson rates and NMDA that can change between blocks, and state that
    can be written between blocks. The ONE place of the demo that touches the engine's internal
    names (``grp``, ``icdf``, ``icdf_np``, ``icdf_rows``, ``thr4``, ``nmda_scale``, ``use_nmda``);
    after each change it calls the engine's public ``LIFBatch.state_changed``."""

    def set_external_rates(self, rates_hz: np.ndarray) -> None:
        lam = np.asarray(rates_hz, np.float64) * self.dt / 1000.0
        uniq, grp = np.unique(lam, return_inverse=True)
        self.icdf_np = poisson_threshold_table(uniq)
        self.grp = torch.as_tensor(grp.astype(np.int32), device=self.device)
        self.icdf = torch.as_tensor(self.icdf_np, device=self.device)
        if self.backend == "torch":
            self.icdf_rows = self.icdf[self.grp.long()].contiguous()
            pad = torch.full((self.icdf.shape[0], 4), 1 << 32, dtype=torch.int64, device=self.device)
            pad[:, :min(4, self.icdf.shape[1])] = self.icdf[:, :4]
            self.thr4 = pad[self.grp.long()].T.contiguous()
        self.state_changed()

    def set_nmda(self, on: bool, scale: torch.Tensor) -> None:
        self.nmda_scale = scale.clone() if on else torch.zeros_like(scale)
        self.use_nmda = bool(on) and bool((scale > 0).any())
        self.state_changed()


STATE = ("v", "ie", "ii", "inm", "ref", "buf", "weight")


class MemoryProbe:
    """The brain's network twice in one :class:`DemoBatch` -- copy 0 sees the pattern, copy 1 a
    blank -- with the same seed, so the same Poisson noise, started from the same state: the
    pattern-minus-blank persistence measurement of ``memory`` as one batched run (both copies in
    one parallel kernel per block) rather than two runs in turn. Built on first use."""

    def __init__(self, brain: "Brain"):
        self.brain = brain
        b = brain
        self.sim = DemoBatch([b.net, b.net], [b.cfg.seed] * 2, backend=b.sim.backend,
                             names=[f"{b.cfg.atlas}_pattern", f"{b.cfg.atlas}_blank"])
        if (self.sim.S, self.sim.K) != (b.sim.S, b.sim.K):   # same network twice: same ring buffer
            raise RuntimeError("memory probe: ring buffer differs from the brain's")
        self.nmda_scale = b.nmda_scale.repeat(2)

    def start_from(self, snap: dict) -> None:
        """Both copies in the state ``snap`` (:meth:`Brain.snapshot`)."""
        sim, n = self.sim, self.brain.n
        for k in STATE:
            dst, src = getattr(sim, k), snap[k]
            if k == "buf":
                dst.view(sim.S, 2, 2, n).copy_(src.view(sim.S, 2, 1, n).expand(-1, -1, 2, -1))
            else:
                dst.view(2, -1).copy_(src.view(1, -1).expand(2, -1))
        sim.t = snap["t"]
        sim.state_changed()

    def copy_state(self, copy: int) -> dict:
        """The state of one copy, as :meth:`Brain.snapshot` would give it (for :meth:`Brain.restore`)."""
        sim, n = self.sim, self.brain.n
        out = {}
        for k in STATE:
            a = getattr(sim, k)
            out[k] = a.view(sim.S, 2, 2, n)[:, :, copy].clone() if k == "buf" else a.view(2, -1)[copy].clone()
        out["t"] = sim.t
        out["w_sm"] = self.brain.w_sm.clone()
        return out

    def run(self, stim: np.ndarray, ms: float, bin_ms: float) -> np.ndarray:
        """Advance both copies ``ms`` with external stimulus rates ``stim`` (2, n) (Hz, added to the
        background); region rates (Hz) per bin of ``bin_ms``: (n_bins, 2, R)."""
        b, sim = self.brain, self.sim
        step = b.cfg.rate_step
        sim.set_external_rates(np.tile(b.base_rate, 2) + (np.round(stim / step) * step).reshape(-1))
        nsteps = int(round(ms / sim.dt))
        bsteps = int(round(bin_ms / sim.dt))
        nb = max(nsteps // bsteps, 1)
        lin = (np.arange(2)[:, None] * b.R + b.net.region[None, :]).reshape(-1)  # batch neuron -> copy*R + region
        counts = np.zeros(nb * 2 * b.R)
        t_start, done = sim.t, 0
        while done < nsteps:
            k = min(sim.K, nsteps - done)
            blk = sim.step_block(k)
            if blk.i.numel():
                binno = np.minimum((blk.t0 - t_start + blk.k.numpy()) // bsteps, nb - 1)
                counts += np.bincount(binno * 2 * b.R + lin[blk.i.numpy()], minlength=counts.size)
            done += k
        return counts.reshape(nb, 2, b.R) / b.npr * 1000.0 / bin_ms


@dataclass
class Window:
    """Spikes of one run: per-neuron counts, region rates, raster (ms, neuron) if kept."""
    duration_ms: float
    counts: np.ndarray
    region_rate: np.ndarray
    raster_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    raster_i: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bins: np.ndarray | None = None   # (n_bins, R) region rates per bin (Hz) if asked


class Brain:
    def __init__(self, connectome, rows, t1t2: np.ndarray | None, cfg: BrainConfig, backend: str = "auto"):
        self.cfg, self.connectome, self.rows = cfg, connectome, rows
        R = connectome.n
        if len(rows) != R:
            raise ValueError(f"{cfg.atlas}: {len(rows)} region-table rows for {R} regions")
        self.labels = [r["label"] for r in rows]
        self.region_class = np.array([r["region_class"] for r in rows])
        self.hemisphere = np.array([r["hemisphere"] for r in rows])
        p = cfg.lif_params()
        tau_m_region = tau_m_from_t1t2(t1t2, p, name=f"{cfg.atlas} T1w/T2w") if (cfg.t1t2 and t1t2 is not None) else None
        self.nmda_mask = (self.region_class == cfg.nmda_class) if cfg.nmda else np.zeros(R, bool)
        net = connectome_network(connectome.weights, connectome.lengths, p, seed=cfg.seed, dt=cfg.dt,
                                 tau_m_region=tau_m_region, nmda_regions=self.nmda_mask, name=cfg.atlas)
        npr, ne = p.n_e + p.n_i, p.n_e
        self.npr, self.ne, self.R = npr, ne, R

        def exc_of(regions):
            return np.concatenate([np.arange(r * npr, r * npr + ne) for r in regions]) if len(regions) else np.zeros(0, int)

        self.vis_regions = _pick(rows, "visual", "primary_visual")
        self.aud_regions = _pick(rows, "auditory", "primary_auditory")
        self.som_regions = _pick(rows, "somatosensory", "primary_somatosensory")
        self.mot_regions = _pick(rows, "motor", "primary_motor")
        for name, reg in (("visual", self.vis_regions), ("auditory", self.aud_regions),
                          ("somatosensory", self.som_regions), ("motor", self.mot_regions)):
            if reg.size == 0:
                raise ValueError(f"{cfg.atlas}: no {name} region in its region table; the demo needs one")
        self.vis_idx, self.aud_idx, self.som_idx = exc_of(self.vis_regions), exc_of(self.aud_regions), exc_of(self.som_regions)
        hemi = lambda idx: self.hemisphere[net.region[idx]]  # noqa: E731
        self.visual = VisualEncoder(hemi(self.vis_idx), max_rate=cfg.stim_rate)
        self.auditory = AuditoryEncoder(hemi(self.aud_idx), max_rate=cfg.stim_rate)
        self.touch = TouchEncoder(hemi(self.som_idx), max_rate=cfg.stim_rate)
        mot = exc_of(self.mot_regions)
        local = (mot - net.region[mot] * npr)
        self.pools = [mot[local % len(ACTIONS) == k] for k in range(len(ACTIONS))]
        self.decoder = MotorDecoder(self.pools, ACTIONS, tau_ms=cfg.decoder_tau, seed=cfg.seed,
                                    center=cfg.decoder_center, center_tau_ms=cfg.decoder_center_tau)
        if cfg.credit not in ("all", "chosen"):
            raise ValueError(f"BrainConfig.credit {cfg.credit!r}: must be 'all' or 'chosen'")
        # the plastic pathway: visual input neurons -> motor pools
        rng = np.random.default_rng([cfg.seed, 0xD3])
        post_all = np.concatenate(self.pools)
        mask = rng.random((self.vis_idx.size, post_all.size)) < cfg.p_sm
        pi, qi = np.nonzero(mask)
        src, tgt = self.vis_idx[pi], post_all[qi]
        dist = np.linalg.norm(connectome.centres[net.region[src]] - connectome.centres[net.region[tgt]], axis=1) \
            if connectome.centres is not None else np.full(src.size, p.delay_local * p.velocity)
        d = delay_steps(np.maximum(dist / p.velocity, p.delay_local), cfg.dt)
        scale = net.tau_m[tgt].astype(np.float64) / p.tau_e     # mV PSP -> current jump
        w = (cfg.j_sm * scale).astype(np.float32)
        self.sm_scale = scale
        self.net = self._append(net, src, tgt, w, d)
        self.n = self.net.n
        self.sim = DemoBatch([self.net], [cfg.seed], backend=backend, names=[cfg.atlas])
        self.sim.random_initial_state()
        self.nmda_scale = self.sim.nmda_scale.clone()
        self.base_rate = self.net.ext_rate.copy()
        self.stim = np.zeros(self.n)
        # reward-modulated STDP on the pathway (pre/post as indices into the pathway's neuron lists)
        self.sm_pre_neurons, self.sm_post_neurons = self.vis_idx, post_all
        self.sm_pre_of_syn, self.sm_post_of_syn = pi, qi      # per plastic synapse: index into those lists
        pool_of_post = np.repeat(np.arange(len(self.pools)), [p.size for p in self.pools])
        self.sm_pool_of_syn = torch.as_tensor(pool_of_post[qi])  # the action each plastic synapse votes for
        self.last_action: int | None = None
        wmax = float(cfg.w_max_sm * scale.max())
        self.stdp_params = STDPParams(lam=cfg.lam, alpha=cfg.alpha, w_max=wmax)
        self.rstdp = RSTDP(RSTDPParams(eta=cfg.eta_rstdp, tau_c=cfg.tau_c), self.stdp_params, pi, qi,
                           self.vis_idx.size, post_all.size, dt=1.0)
        self.w_sm = torch.as_tensor(w.astype(np.float64))[None].clone()
        self.w_sm_max = torch.as_tensor(cfg.w_max_sm * scale)[None]
        self.w_sm0 = self.w_sm.clone()
        self.learning = True
        self.history: list[str] = []
        self._probe: MemoryProbe | None = None

    # ------------------------------------------------------------------ construction helper
    def _append(self, net, src, tgt, w, d):
        old_src = net.source.astype(np.int64)
        allsrc = np.concatenate([old_src, src.astype(np.int64)])
        alltgt = np.concatenate([net.target, tgt.astype(np.int32)])
        indptr, order = csr_order(allsrc, alltgt, net.n)
        inv = np.empty_like(order)
        inv[order] = np.arange(order.size)
        self.sm_pos = inv[net.nnz:]                       # CSR positions of the pathway's synapses
        net.indptr = indptr
        net.target = alltgt[order].astype(np.int32)
        net.channel = np.concatenate([net.channel, np.zeros(src.size, np.int8)])[order]
        net.weight = np.concatenate([net.weight, w.astype(np.float32)])[order]
        net.delay = np.concatenate([net.delay, d.astype(np.int32)])[order]
        net.meta["n_sensorimotor"] = int(src.size)
        check_dale(net)
        return net

    # ------------------------------------------------------------------ stimulation
    def set_stimulus(self, idx: np.ndarray | None = None, rates: np.ndarray | None = None) -> None:
        """Stimulus rates (Hz) on neurons ``idx`` (None: remove every stimulus)."""
        self.stim[:] = 0.0
        if idx is not None:
            step = self.cfg.rate_step
            self.stim[idx] = np.round(np.asarray(rates, np.float64) / step) * step
        self.sim.set_external_rates(self.base_rate + self.stim)

    def stimulus_for(self, kind: str, value) -> tuple[np.ndarray, np.ndarray]:
        if kind == "look":
            return self.vis_idx, self.visual.rates(value)
        if kind == "sound":
            return self.aud_idx, self.auditory.rates(value)
        if kind == "touch":
            return self.som_idx, self.touch.rates(value)
        raise ValueError(f"unknown stimulus kind {kind!r}")

    # ------------------------------------------------------------------ running
    def run(self, ms: float, raster: bool = False, bin_ms: float = 0.0, learn_bins: bool = False) -> Window:
        """Advance ``ms``; spike counts per neuron, region rates, optional raster and binned rates.
        ``learn_bins``: feed 1 ms spike bins of the pathway's neurons to the R-STDP eligibility."""
        sim = self.sim
        nsteps = int(round(ms / sim.dt))
        counts = np.zeros(self.n, np.int64)
        ts, ids = [], []
        steps_per_bin = int(round(bin_ms / sim.dt)) if bin_ms > 0 else 0
        nb = nsteps // steps_per_bin if steps_per_bin else 0
        bins = np.zeros((nb, self.R)) if nb else None
        t_start = sim.t
        spm = int(round(1.0 / sim.dt))
        if learn_bins:
            pre_map = np.full(self.n, -1, np.int64)
            pre_map[self.sm_pre_neurons] = np.arange(self.sm_pre_neurons.size)
            post_map = np.full(self.n, -1, np.int64)
            post_map[self.sm_post_neurons] = np.arange(self.sm_post_neurons.size)
            n_ms = -(-nsteps // spm)
            pre_r = np.zeros((n_ms, self.sm_pre_neurons.size), bool)
            post_r = np.zeros((n_ms, self.sm_post_neurons.size), bool)
        done = 0
        while done < nsteps:
            k = min(sim.K, nsteps - done)
            blk = sim.step_block(k)
            if blk.i.numel():
                i = blk.i.numpy()
                kk = blk.k.numpy()
                np.add.at(counts, i, 1)
                rel = blk.t0 - t_start + kk
                if raster:
                    ts.append(rel * sim.dt)
                    ids.append(i)
                if nb:
                    b = rel // steps_per_bin
                    ok = b < nb
                    np.add.at(bins, (b[ok], self.net.region[i[ok]]), 1)
                if learn_bins:
                    m = rel // spm
                    a = pre_map[i]
                    pre_r[m[a >= 0], a[a >= 0]] = True
                    c = post_map[i]
                    post_r[m[c >= 0], c[c >= 0]] = True
            done += k
        if learn_bins:
            for t in range(pre_r.shape[0]):
                self.rstdp.step(torch.from_numpy(pre_r[t])[None], torch.from_numpy(post_r[t])[None])
        rr = np.bincount(self.net.region, weights=counts, minlength=self.R) / self.npr * 1000.0 / max(ms, 1e-9)
        if nb:
            bins = bins / self.npr * 1000.0 / bin_ms
        return Window(ms, counts, rr, np.concatenate(ts) if ts else np.zeros(0),
                      np.concatenate(ids) if ids else np.zeros(0, np.int64), bins)

    def present(self, kind: str, value, ms: float = 200.0, **kw) -> Window:
        idx, rates = self.stimulus_for(kind, value)
        self.set_stimulus(idx, rates)
        try:
            return self.run(ms, **kw)
        finally:
            self.set_stimulus(None)

    # ------------------------------------------------------------------ learning
    def reward(self, r: float) -> float:
        """Deliver reward ``r`` to the plastic pathway (R-STDP); returns the prediction error.
        With learning off, the eligibility is cleared and nothing changes."""
        if not self.learning:
            self.rstdp.c.zero_()
            return 0.0
        if self.cfg.credit == "chosen" and self.last_action is not None:
            # per-action eligibility: only the synapses onto the pool that acted get the credit
            self.rstdp.c.mul_((self.sm_pool_of_syn == self.last_action).to(self.rstdp.c.dtype)[None])
        delta = float(self.rstdp.reward(self.w_sm, r)[0])
        torch.minimum(self.w_sm, self.w_sm_max, out=self.w_sm)
        self.sim.weight[torch.as_tensor(self.sm_pos)] = self.w_sm[0].to(torch.float32)
        self.rstdp.c.zero_()
        return delta

    def trial(self, pattern_name: str, image: np.ndarray, ms: float = 100.0) -> tuple[int, np.ndarray]:
        """One decision: show ``image`` for ``ms``, the decoder picks the action; then the action is
        executed for ``execute_ms`` (the image still shown, the chosen pool driven at ``stim_rate``),
        and only this phase's spikes feed the R-STDP eligibility (credit goes to the synapses onto
        the pool that acted). Returns the action and the decision window's pool rates."""
        self.rstdp.c.zero_()
        win = self.present("look", image, ms)
        self.decoder.reset()
        a = self.decoder.decide(win.counts, ms)
        self.last_action = a
        if self.cfg.execute_ms > 0:
            vi, vr = self.stimulus_for("look", image)
            pool = self.pools[a]
            self.set_stimulus(np.concatenate([vi, pool]), np.concatenate([vr, np.full(pool.size, self.cfg.stim_rate)]))
            try:
                self.run(self.cfg.execute_ms, learn_bins=True)
            finally:
                self.set_stimulus(None)
        return a, self.decoder.last.copy()

    # ------------------------------------------------------------------ memory control
    def set_nmda(self, on: bool) -> None:
        self.sim.set_nmda(on, self.nmda_scale)

    def memory(self, image: np.ndarray, nmda: bool, snap: dict | None = None, stim_ms: float = 100.0,
               post_ms: float = 150.0, bin_ms: float = 50.0, go_on: bool = False) -> dict:
        """Prefrontal (``nmda_mask``) rate while ``image`` is shown for ``stim_ms`` and in bins of
        ``bin_ms`` for ``post_ms`` after its removal, beside the same run with a blank (same state
        ``snap`` -- default: now -- and the same noise), with the NMDA current on or off: one
        batched run of the two (:class:`MemoryProbe`). ``go_on``: the brain continues from the end
        of the pattern run (as if it had been shown). The brain's own NMDA setting is unchanged."""
        if self._probe is None:
            self._probe = MemoryProbe(self)
        pr = self._probe
        snap = self.snapshot() if snap is None else snap
        pr.start_from(snap)
        pr.sim.set_nmda(nmda, pr.nmda_scale)
        stim = np.zeros((2, self.n))
        idx, rates = self.stimulus_for("look", image)
        stim[0, idx] = rates
        during = pr.run(stim, stim_ms, stim_ms)[0]            # (2, R)
        after = pr.run(np.zeros((2, self.n)), post_ms, bin_ms)   # (n_bins, 2, R)
        if go_on:
            self.restore(pr.copy_state(0))
        m = self.nmda_mask if self.nmda_mask.any() else (self.region_class == self.cfg.nmda_class)
        pfc_after = after[:, :, m].mean(axis=2)
        return {"during": during[:, m].mean(axis=1), "visual_during": during[:, self.vis_regions].mean(axis=1),
                "after": pfc_after[:, 0], "blank": pfc_after[:, 1],
                "persistence": pfc_after[:, 0] - pfc_after[:, 1], "bin_ms": bin_ms}

    def snapshot(self) -> dict:
        s = {k: getattr(self.sim, k).clone() for k in STATE}
        s["t"] = self.sim.t
        s["w_sm"] = self.w_sm.clone()
        return s

    def restore(self, s: dict) -> None:
        for k in STATE:
            getattr(self.sim, k).copy_(s[k])
        self.sim.t = s["t"]
        self.w_sm.copy_(s["w_sm"])
        self.sim.state_changed()

    # ------------------------------------------------------------------ status
    def class_rates(self, region_rate: np.ndarray) -> dict[str, float]:
        out = {}
        for c in dict.fromkeys(self.region_class):
            out[str(c)] = float(region_rate[self.region_class == c].mean())
        return out

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        import h5py

        with h5py.File(path, "w") as f:
            f.attrs["kind"] = "demo_state"
            f.attrs["config"] = self.cfg.to_json()
            f.attrs["t"] = int(self.sim.t)
            f.attrs["rstdp_baseline"] = float(self.rstdp.b[0])
            f.attrs["history"] = json.dumps(self.history)
            for k in STATE:
                f.create_dataset(k, data=getattr(self.sim, k).cpu().numpy(), compression="gzip")
            f.create_dataset("sensorimotor_weight_mV", data=(self.w_sm[0].numpy() / self.sm_scale))
            f.create_dataset("sensorimotor_weight", data=self.w_sm[0].numpy())
            f.create_dataset("decoder_smoothed", data=self.decoder.smoothed)
            if self.decoder.mean is not None:
                f.create_dataset("decoder_mean", data=self.decoder.mean)

    def load(self, path) -> None:
        import h5py

        try:
            f = h5py.File(path, "r")
        except (OSError, FileNotFoundError) as exc:
            raise ValueError(f"cannot read demo state {str(path)!r}: {exc}") from None
        with f:
            if f.attrs.get("kind") != "demo_state":
                raise ValueError(f"{path}: not a demo state file (kind {f.attrs.get('kind')!r})")
            cfg = json.loads(f.attrs["config"])
            mine = asdict(self.cfg)
            diff = sorted(k for k in set(cfg) | set(mine) if cfg.get(k) != mine.get(k))
            if diff:
                raise ValueError(f"{path}: saved from a different network (differs in {', '.join(diff)}); "
                                 f"start the demo with the same options")
            for k in STATE:
                a = f[k][...]
                if a.shape != tuple(getattr(self.sim, k).shape):
                    raise ValueError(f"{path}: dataset {k!r} has shape {a.shape}, expected {tuple(getattr(self.sim, k).shape)}")
                getattr(self.sim, k).copy_(torch.as_tensor(a))
            self.sim.t = int(f.attrs["t"])
            self.w_sm.copy_(torch.as_tensor(f["sensorimotor_weight"][...])[None])
            self.rstdp.b.fill_(float(f.attrs["rstdp_baseline"]))
            self.decoder.smoothed[:] = f["decoder_smoothed"][...]
            self.decoder.mean = f["decoder_mean"][...].copy() if "decoder_mean" in f else None
            self.history = json.loads(f.attrs["history"])
        self.sim.state_changed()
        self.set_stimulus(None)


def build_brain(cfg: BrainConfig, resources=None, backend: str = "auto") -> Brain:
    """The demo brain for ``cfg.atlas`` from the resources (``encephagen demo`` builds a missing connectome first)."""
    c = load_connectome(cfg.atlas, resources)
    rows = region_rows(cfg.atlas)
    t1t2 = None
    if cfg.t1t2:
        try:
            t1t2 = np.array([r["t1t2"] for r in load_t1t2(cfg.atlas, resources)], float)
        except Exception as exc:   # no T1w/T2w table: say so and use the uniform tau_m
            import logging

            logging.getLogger(__name__).warning("%s: no T1w/T2w values (%s); uniform tau_m", cfg.atlas, exc)
    return Brain(c, rows, t1t2, cfg, backend=backend)
