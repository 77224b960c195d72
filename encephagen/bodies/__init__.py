"""Simulated bodies (MuJoCo) and a spiking central pattern generator: arrays in, arrays out.

* :mod:`encephagen.bodies.walker2d` -- gymnasium Walker2d-v5 (OBS / ACT index maps)
* :mod:`encephagen.bodies.planar` -- the packaged planar 2-leg walker (assets/planar_walker.xml)
* :mod:`encephagen.bodies.controllers` -- explicit PD stand controllers, episode runner
* :mod:`encephagen.bodies.cpg` -- 80-neuron LIF CPG with identified classes, one connection table
* :mod:`encephagen.bodies.calibrate` -- CMA-ES helper with the global RNG side effect contained
* :mod:`encephagen.bodies.gait` -- the CMA-ES-calibrated Walker2d gait (CPG + posture control;
  parameters shipped in assets/walker2d_gait.json)
* :mod:`encephagen.bodies.reflexes` -- brainstem reflexes (startle, righting, stepping drive), priority gated
* :mod:`encephagen.bodies.loop` -- the closed loop body <-> reflexes <-> CPG <-> optional connectome network

Pinned for exact numbers: gymnasium 1.4.0, mujoco 4.0.0, cma 4.5.0 (see docs/bodies.md).
"""
