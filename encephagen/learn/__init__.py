"""Learning protocols on plastic LIF networks (issue 16): the plastic engine of the study layer
(:class:`encephagen.learn.engine.PlasticEngine`, file kind 'plastic'), the protocols
(:mod:`encephagen.learn.protocols`: habituation, conditioning), their statistics
(:mod:`encephagen.learn.statistics`) and the workflow step (:mod:`encephagen.learn.run`). See
docs/plasticity.md."""
