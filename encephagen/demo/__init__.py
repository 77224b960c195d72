"""The interactive brain (``encephagen demo``): a spiking connectome network driven by sensory
encoders, read out by a motor decoder, in a closed loop with a grid world or a walking body.

* :mod:`encephagen.demo.encoders` -- visual (patterns, small images), auditory (tonotopic),
  somatosensory (body side) encoders: stimulus -> Poisson rates (Hz) on chosen neurons
* :mod:`encephagen.demo.decoder` -- motor decoder: pool spike counts -> smoothed rates -> action
* :mod:`encephagen.demo.gridworld` -- a 2-D grid world and the closed-loop runner
* :mod:`encephagen.demo.brain` -- the network (connectome, T1w/T2w tau_m, delays, feedforward
  inhibition, NMDA in prefrontal regions), stimulation, reward-modulated STDP, save / load
* :mod:`encephagen.demo.repl` -- the command interpreter; :mod:`encephagen.demo.measure` -- the
  measurements reported in docs/demo.md

Arrays in, arrays out everywhere except the REPL, the plots and save / load.
"""
