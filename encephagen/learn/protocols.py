"""Learning protocols on a batch of LIF networks (every network x seed of the batch learns
independently): stimuli as constant depolarisations of chosen excitatory neurons, response
windows, rewards at window ends.

* :func:`habituation`: pattern A presented ``n_repeats`` times, then A once more and a novel
  pattern B once (the test); the response of a pattern is the mean rate (Hz) of its stimulated
  neurons during the presentation. With plastic E->E synapses (STDP, optional scaling) or frozen
  ones (the same machinery with zero learning rates: identical neuron dynamics).
* :func:`conditioning`: two stimuli (CS1, CS2) and two response groups (R1, R2); in each trial
  one stimulus (seeded order), the group that fires more is the network's choice; reward
  ``reward_correct`` if it is the stimulus's group, else ``reward_wrong`` (the mean on a tie),
  given to reward-modulated STDP at the end of the window. Chance: 0.5.

Patterns are regions' excitatory neurons chosen by a seed that depends on the seed id only
(:func:`patterns`), so the real network and every null get the same stimulated neurons.
"""
from __future__ import annotations

import numpy as np
import torch

from encephagen.seeds import numpy_rng

HABITUATION_CHANNELS = ("A", "B")
CONDITIONING_GROUPS = ("CS1", "CS2", "R1", "R2")


def patterns(seed: int, n_regions: int, n_e: int, n_i: int, n_groups: int, regions_per_group: int,
             fraction: float, full_groups: tuple = ()) -> list[np.ndarray]:
    """Neuron indices (in one network) of ``n_groups`` disjoint groups, each the first
    ``ceil(fraction n_e)`` of a random permutation of the excitatory neurons of
    ``regions_per_group`` distinct regions (all of them for groups in ``full_groups``)."""
    need = n_groups * regions_per_group
    if need > n_regions:
        raise ValueError(f"learn: {n_groups} groups x {regions_per_group} regions = {need} regions, "
                         f"but the network has {n_regions} (learn.*.pattern_regions)")
    rng = numpy_rng(seed)
    regs = rng.permutation(n_regions)[:need].reshape(n_groups, regions_per_group)
    npr = n_e + n_i
    k = max(1, int(np.ceil(fraction * n_e)))
    out = []
    for g in range(n_groups):
        ids = []
        for r in regs[g]:
            perm = rng.permutation(n_e)
            ids.append(r * npr + np.sort(perm if g in full_groups else perm[:k]))
        out.append(np.concatenate(ids).astype(np.int64))
    return out


class Stimulator:
    """Constant depolarisation of chosen neurons of the batch (added to the bias term in place,
    float32, restored exactly)."""

    def __init__(self, sim):
        self.sim = sim
        self.base = sim.bias_term.clone()
        self.gain = (1.0 - sim.p22.to(torch.float64))

    def on(self, neurons: np.ndarray, amplitude: float) -> None:
        """Stimulate ``neurons`` (batch indices) with ``amplitude`` mV; every other neuron at its bias."""
        sim = self.sim
        add = torch.zeros(sim.N, dtype=torch.float64, device=sim.device)
        idx = torch.as_tensor(np.asarray(neurons, np.int64), device=sim.device)
        add[idx] = self.gain[idx] * float(amplitude)
        sim.bias_term.copy_(self.base + add.to(torch.float32))

    def off(self) -> None:
        self.sim.bias_term.copy_(self.base)


def run_for(sim, n_steps: int, *counts: np.ndarray, progress=None) -> None:
    """Advance ``n_steps`` (blocks cut at the end), adding each neuron's spikes to every array of
    ``counts`` (and to ``sim.spike_total`` when the caller set one)."""
    end = sim.t + int(n_steps)
    total = getattr(sim, "spike_total", None)
    arrays = counts + ((total,) if total is not None else ())
    while sim.t < end:
        b = sim.step_block(min(sim.K, end - sim.t))
        if arrays and b.i.numel():
            i = b.i.cpu().numpy()
            for c in arrays:
                np.add.at(c, i, 1)
        if progress is not None:
            progress()


def _group_rate(counts: np.ndarray, groups: list[np.ndarray], n: int, ms: float) -> np.ndarray:
    """(B,) mean rate (Hz) of each network's group (``groups[b]``: neuron indices in network b)."""
    return np.array([counts[b * n + g].sum() / g.size / (ms / 1000.0) for b, g in enumerate(groups)])


def habituation(sim, pats: list[list[np.ndarray]], n_repeats: int, on_ms: float, off_ms: float, amplitude: float,
                progress=None) -> dict:
    """Run the habituation protocol on ``sim`` (plasticity already attached or not).

    ``pats[b] = [A, B]``: neuron indices of network b's two patterns. Returns ``responses``
    (B, n_repeats + 2) Hz and ``stimulus`` (n_repeats + 2,) 0 = A, 1 = B: n_repeats x A, A, B."""
    n, dt = sim.n, sim.dt
    on, off = int(round(on_ms / dt)), int(round(off_ms / dt))
    st = Stimulator(sim)
    order = [0] * (n_repeats + 1) + [1]
    resp = np.zeros((sim.B, len(order)))
    for j, s in enumerate(order):
        idx = np.concatenate([pats[b][s] + b * n for b in range(sim.B)])
        counts = np.zeros(sim.N, np.int64)
        st.on(idx, amplitude)
        run_for(sim, on, counts, progress=progress)
        st.off()
        resp[:, j] = _group_rate(counts, [p[s] for p in pats], n, on * dt)
        run_for(sim, off, progress=progress)
    return {"responses": resp, "stimulus": np.asarray(order, np.int64)}


def conditioning(sim, pl, pats: list[list[np.ndarray]], cs: np.ndarray, on_ms: float, iti_ms: float,
                 amplitude: float, reward_correct: float, reward_wrong: float, progress=None) -> dict:
    """Run the conditioning protocol. ``pats[b] = [CS1, CS2, R1, R2]``; ``cs`` (B, n_trials) the
    stimulus of each trial (0/1); ``pl`` the plastic synapses with R-STDP (frozen: eta = 0).
    Returns per network and trial: ``stimulus``, ``rate_r1``, ``rate_r2`` (Hz), ``margin`` (rate of
    the stimulus's group minus the other's), ``correct`` (1, 0, 0.5 on a tie), ``reward``,
    ``delta`` (reward-prediction error)."""
    n, dt, B = sim.n, sim.dt, sim.B
    cs = np.asarray(cs, np.int64)
    T = cs.shape[1]
    on, iti = int(round(on_ms / dt)), int(round(iti_ms / dt))
    st = Stimulator(sim)
    out = {k: np.zeros((B, T)) for k in ("rate_r1", "rate_r2", "margin", "correct", "reward", "delta")}
    for t in range(T):
        idx = np.concatenate([pats[b][cs[b, t]] + b * n for b in range(B)])
        counts = np.zeros(sim.N, np.int64)
        st.on(idx, amplitude)
        run_for(sim, on, counts, progress=progress)
        st.off()
        r1 = _group_rate(counts, [p[2] for p in pats], n, on * dt)
        r2 = _group_rate(counts, [p[3] for p in pats], n, on * dt)
        m = np.where(cs[:, t] == 0, r1 - r2, r2 - r1)
        corr = np.where(m > 0, 1.0, np.where(m < 0, 0.0, 0.5))
        rew = corr * reward_correct + (1.0 - corr) * reward_wrong
        out["delta"][:, t] = pl.reward(rew)
        out["rate_r1"][:, t], out["rate_r2"][:, t], out["margin"][:, t] = r1, r2, m
        out["correct"][:, t], out["reward"][:, t] = corr, rew
        run_for(sim, iti, progress=progress)
    out["stimulus"] = cs
    return out


def stimulus_action(sim, rule, pats: list[list[np.ndarray]], stim: np.ndarray, on_ms: float, iti_ms: float,
                    amplitude: float, reward_correct: float = 1.0, reward_wrong: float = 0.0, learn: bool = True,
                    progress=None, on_trial_end=None) -> dict:
    """The 3-way (k-way) stimulus-action task with reward-based e-prop (``rule``: an
    :class:`encephagen.learn.eprop.EPropSynapses` attached to ``sim``). ``pats[b]`` the stimulus
    groups of network b (neuron indices), ``stim`` (B, n_trials) the stimulus of each trial. Per
    trial: traces reset, the stimulus on for ``on_ms`` (one engine step per block), an action sampled
    from each network's policy at the window's last step, reward ``reward_correct`` if it is the
    stimulus's index else ``reward_wrong``, the trial's updates applied (``learn``), ``iti_ms`` off.
    Returns per network and trial: ``stimulus``, ``action``, ``correct``, ``reward``, ``p_correct``
    (the policy's probability of the right action), ``delta`` (terminal TD error).
    ``on_trial_end()`` (optional) is called after each trial's update."""
    n, dt, B = sim.n, sim.dt, sim.B
    stim = np.asarray(stim, np.int64)
    T = stim.shape[1]
    on, iti = int(round(on_ms / dt)), int(round(iti_ms / dt))
    st = Stimulator(sim)
    out = {k: np.zeros((B, T)) for k in ("action", "correct", "reward", "p_correct", "delta")}
    for t in range(T):
        s = stim[:, t]
        st.on(np.concatenate([pats[b][s[b]] + b * n for b in range(B)]), amplitude)
        rule.begin_trial()
        for k in range(on):
            if k == on - 1:
                rule.act(lambda a, s=s: np.where(a == s, reward_correct, reward_wrong))
            run_for(sim, 1, progress=progress)
        rec = rule.end_trial(learn=learn)
        if on_trial_end is not None:
            on_trial_end()
        st.off()
        out["action"][:, t], out["reward"][:, t] = rec["action"], rec["reward"]
        out["correct"][:, t] = (rec["action"] == s).astype(float)
        out["p_correct"][:, t] = rec["pi"][np.arange(B), s]
        out["delta"][:, t] = rec["delta_terminal"]
        run_for(sim, iti, progress=progress)
    out["stimulus"] = stim
    return out


def choice_task(sim, pl, pats: list[list[np.ndarray]], stim: np.ndarray, on_ms: float, iti_ms: float,
                amplitude: float, reward_correct: float, reward_wrong: float, progress=None) -> dict:
    """The k-way stimulus-response task with reward-modulated STDP (``pl``: plastic synapses with
    R-STDP; frozen: eta = 0). ``pats[b] = [S_0 .. S_{k-1}, R_0 .. R_{k-1}]`` (stimulus groups, then
    response groups); ``stim`` (B, n_trials) the stimulus of each trial (0 .. k-1). The network's
    choice is the response group with the highest rate during the stimulus; ``correct`` is 1 if
    it is the stimulus's group, 0 if not, 1/m on an m-way tie that includes it; the reward
    ``correct * reward_correct + (1 - correct) * reward_wrong`` goes to R-STDP at the window's end.
    Returns per network and trial ``stimulus``, ``action`` (the chosen group; -1 on a tie),
    ``correct``, ``reward``, ``delta`` (reward-prediction error), ``margin`` (rate of the
    stimulus's group minus the highest other, Hz) and ``rates`` (B, n_trials, k) Hz."""
    n, dt, B = sim.n, sim.dt, sim.B
    stim = np.asarray(stim, np.int64)
    T = stim.shape[1]
    k = len(pats[0]) // 2
    if len(pats[0]) != 2 * k or k < 2 or stim.min() < 0 or stim.max() >= k:
        raise ValueError("choice_task: pats[b] must hold k stimulus then k response groups (k >= 2), stim in 0..k-1")
    on, iti = int(round(on_ms / dt)), int(round(iti_ms / dt))
    st = Stimulator(sim)
    out = {x: np.zeros((B, T)) for x in ("action", "correct", "reward", "delta", "margin")}
    out["rates"] = np.zeros((B, T, k))
    rows = np.arange(B)
    for t in range(T):
        s = stim[:, t]
        counts = np.zeros(sim.N, np.int64)
        st.on(np.concatenate([pats[b][s[b]] + b * n for b in range(B)]), amplitude)
        run_for(sim, on, counts, progress=progress)
        st.off()
        r = np.stack([_group_rate(counts, [p[k + j] for p in pats], n, on * dt) for j in range(k)], 1)  # (B, k)
        top = r >= r.max(1, keepdims=True)
        m_tied = top.sum(1)
        corr = np.where(top[rows, s], 1.0 / m_tied, 0.0)
        other = np.where(np.arange(k)[None, :] == s[:, None], -np.inf, r).max(1)
        rew = corr * reward_correct + (1.0 - corr) * reward_wrong
        out["delta"][:, t] = pl.reward(rew)
        out["action"][:, t] = np.where(m_tied == 1, r.argmax(1), -1)
        out["correct"][:, t], out["reward"][:, t] = corr, rew
        out["margin"][:, t], out["rates"][:, t] = r[rows, s] - other, r
        run_for(sim, iti, progress=progress)
    out["stimulus"] = stim
    return out
