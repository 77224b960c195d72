"""Plasticity engine: learning rules on arrays/tensors, batched over a leading dimension (every
network x seed learns independently), the same code on CPU and GPU. Knows no dataset, file or
workflow; the spiking engine's run loop and the study layer call it. See docs/plasticity.md."""
from encephagen.plasticity.stdp import STDP, STDPParams

__all__ = ["STDP", "STDPParams"]
from encephagen.plasticity.eprop import EPropLIF, EPropParams, truncated_autodiff_gradients  # noqa: E402

__all__ += ["EPropLIF", "EPropParams", "truncated_autodiff_gradients"]
from encephagen.plasticity.homeostasis import RateSensor, ScalingParams, SynapticScaling  # noqa: E402

__all__ += ["RateSensor", "ScalingParams", "SynapticScaling"]
from encephagen.plasticity.rstdp import RSTDP, RSTDPParams  # noqa: E402

__all__ += ["RSTDP", "RSTDPParams"]
from encephagen.plasticity.eprop_rl import ActorCritic, EPropActorCritic, EPropRLParams  # noqa: E402

__all__ += ["ActorCritic", "EPropActorCritic", "EPropRLParams"]
