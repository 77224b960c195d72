"""The steps: one module per workflow stage. Each step takes paths (and plain config dicts), reads
the files, calls the arrays-in/arrays-out library code (the study layer and its engines, nulls,
analysis, figures) and writes its outputs through :mod:`encephagen.io`. The workflow's scripts
(``workflow/scripts/*.py``) and the command line call these; nothing below the steps opens a
connectome, null batch, empirical FC or T1w/T2w file.

- :mod:`encephagen.steps.data`: rules fetch_sources, convert_connectome(_subjects), parcellate_t1t2,
  own_t1t2, empirical_fc, sc_fc_baselines; ``prepare_resources`` (all of them, ``encephagen data prepare``);
- :mod:`encephagen.steps.nulls`: rules generate_nulls, compute_null_properties (and the null-batch writer);
- :mod:`encephagen.steps.networks`: networks from connectome and null-batch files (every step's reader);
- :mod:`encephagen.steps.simulate`: rule simulate_batch (:func:`~encephagen.steps.simulate.simulate_network_file`);
- :mod:`encephagen.steps.operating_point`: rule operating_point (the G grid of an atlas), ``read_grid``;
- :mod:`encephagen.steps.hopf`: rules hopf_sweep, hopf_summary, hopf_heterogeneity, hopf_sim_vs_analytic;
- :mod:`encephagen.steps.aggregate`: rules aggregate_sims, fit_fc (baselines), write_provenance;
- :mod:`encephagen.steps.figures`: the figure rules (tables in, PNG + PDF out), the time-series check.

Submodules are imported on use (``import encephagen.steps`` is light).
"""
