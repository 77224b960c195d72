"""The LIF neuron update, written once, and the plasticity formulas, written once.

:func:`lif_step` is one step of one neuron (or of every neuron at once): plain arithmetic,
comparisons and :func:`select`. The same Python function is

* called with torch tensors by the torch path (every neuron of the batch per call, any device),
* compiled by numba (``register_jitable``: plain Python when called from Python, compiled and
  inlined when called from numba code) and called with float32 scalars inside the
  parallel CPU kernel :func:`encephagen.spiking._numba_kernels.lif_block` (a chunk of neurons
  per step, vectorised across neurons),
* compiled by numba and called with float64 scalars by the spinal CPG
  (:mod:`encephagen.bodies.cpg`, with an adaptation current on the second channel and
  membrane noise in the bias term).

:func:`select` is ``torch.where`` on tensors and a scalar conditional inside numba code (a
numba overload), so the two paths do the same float32 operations in the same order (separate
multiply and add, no fused multiply-add) and give identical spikes
(tests/test_spiking_backends.py). Nothing here may use a function whose vectorised and scalar
versions can differ in the last bit (``exp``, ``pow``): propagators are computed once, in
float64, by the caller.

Per step (exact integration of the linear subthreshold dynamics over ``dt``)::

    if refractory: v' = v_reset, ref' = ref - 1
    else:          v' = P22 v + P21e I_e + P21i I_i [+ P21n I_n] + bias_term
    I_e' = P11e I_e + a_e + n_ext w_ext         (a_e: excitatory arrivals this step)
    I_i' = P11i I_i + a_i
    [I_n' = P11n I_n + nmda_scale a_e]
    spike if v' >= theta: v' = v_reset, ref' = ref_steps

The STDP weight updates (Morrison et al. 2008; NEST ``stdp_synapse``), :func:`stdp_facilitate`
and :func:`stdp_depress`, and the trace recursion :func:`trace_step` follow the same pattern:
used by :class:`encephagen.plasticity.STDP` (the stand-alone rule checked against NEST) and by
the plastic synapses inside :class:`encephagen.spiking.engine.LIFBatch`.
"""
from __future__ import annotations

import torch
from numba.extending import overload, register_jitable


def select(cond, a, b):
    """``a`` where ``cond`` else ``b`` (``torch.where``; a scalar conditional in numba code)."""
    return torch.where(cond, a, b)


@overload(select)
def _select_scalar(cond, a, b):  # pragma: no cover - compiled by numba
    def impl(cond, a, b):
        return a if cond else b
    return impl


@register_jitable(inline="always")
def lif_step(v, ie, ii, inm, ref, ae, ai, n_ext, w_ext, p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale,
             bias_term, theta, v_reset, ref_steps, use_nmda):
    """One step; returns ``(v, ie, ii, inm, ref, spiked)``. See the module docstring."""
    refr = ref > 0
    vn = p22 * v
    vn = vn + p21e * ie
    vn = vn + p21i * ii
    if use_nmda:
        vn = vn + p21n * inm
    vn = vn + bias_term
    sp = (vn >= theta) & (ref <= 0)       # (v_reset < theta: a clamped neuron never fires)
    v = select(refr | sp, v_reset, vn)
    ref = select(sp, ref_steps, select(refr, ref - 1, ref))
    ie = p11e * ie
    ie = ie + ae
    ie = ie + n_ext * w_ext
    ii = p11i * ii
    ii = ii + ai
    if use_nmda:
        inm = p11n * inm
        inm = inm + nmda_scale * ae
    return v, ie, ii, inm, ref, sp


@register_jitable(inline="always")
def trace_step(x, spiked, decay, nearest):
    """Spike trace for the next step: ``(x + s) decay`` (all-to-all pairing) or
    ``(1 if s else x) decay`` (nearest-neighbour pairing). ``x`` at step t holds the spikes
    strictly before t."""
    if nearest:
        return select(spiked, 1.0, x) * decay
    return (x + spiked) * decay


@register_jitable(inline="always")
def rate_step(r, s, decay, gain):
    """Rate sensor of synaptic scaling (Hz): ``r decay + gain s`` (``s``: this step's spikes, as
    float64 in torch)."""
    return r * decay + gain * s


def scaling_factor(rate, beta, target_rate, duration_ms):
    """Synaptic scaling's multiplicative step over ``duration_ms`` with the sensor ``rate`` held:
    ``exp(beta (r_target - rate) duration / 1000)`` (torch: the same exp on every path)."""
    return torch.exp(beta * (target_rate - rate) * (duration_ms / 1000.0))


@register_jitable(inline="always")
def scale_weight(w, f, w_max):
    """A scaled weight: ``min(w f, w_max)``."""
    v = w * f
    return select(v > w_max, w_max, v)


@register_jitable(inline="always")
def stdp_facilitate(w, x, lam, mu_plus, w_max):
    """LTP: ``Wmax min(1, w/Wmax + lambda (1 - w/Wmax)**mu_plus x)`` (mu_plus = 0: additive). ``w/Wmax`` as
    ``w (1/Wmax)``: a loop over synapses hoists the reciprocal and multiplies (session 13: the divisions
    bound the compiled kernel's arithmetic; at most an ulp from NEST's division, every backend alike)."""
    wn = w * (1.0 / w_max)
    if mu_plus != 0:
        f = 1.0 - wn
        f = select(f < 0.0, 0.0, f)
        if mu_plus != 1:
            f = f ** mu_plus
        v = wn + lam * f * x
    else:
        v = wn + lam * x
    return select(v > 1.0, 1.0, v) * w_max


@register_jitable(inline="always")
def stdp_depress(w, y, lam, alpha, mu_minus, w_max):
    """LTD: ``Wmax max(0, w/Wmax - alpha lambda (w/Wmax)**mu_minus y)`` (mu_minus = 0: additive); ``w/Wmax``
    as in :func:`stdp_facilitate`."""
    wn = w * (1.0 / w_max)
    if mu_minus != 0:
        f = select(wn < 0.0, 0.0, wn)
        if mu_minus != 1:
            f = f ** mu_minus
        v = wn - alpha * lam * f * y
    else:
        v = wn - alpha * lam * y
    return select(v < 0.0, 0.0, v) * w_max
