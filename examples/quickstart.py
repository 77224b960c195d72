"""encephagen's Python API in five steps (docs/quickstart.md includes this file; tests/test_quickstart.py
runs it with small sizes). Run it as is:  python examples/quickstart.py
Sizes come from the environment so that the test can shrink them: QS_NULLS, QS_DURATION_MS, QS_SEEDS."""
import os

import numpy as np

# --- 1. Load a connectome ------------------------------------------------------------------------
# Built once from the installed data packages into ./resources (or $ENCEPHAGEN_RESOURCES), then read.
from encephagen.data import load_connectome, load_empirical_fc
from encephagen.steps.data import prepare_resources

prepare_resources(names=["hcp80", "gw80"], stages=("connectomes", "fc"))  # idempotent: checks, builds what is missing
sc = load_connectome("hcp80")
print(f"{sc.name}: {sc.n} regions, directed={sc.directed}, weights [target, source], lengths in mm")

# --- 2. Make null connectomes --------------------------------------------------------------------
# Every null has its own seed derived from (master_seed, atlas, family, null index): reproducible.
from encephagen.nulls.families import generate_batch, prepare_source

n_nulls = int(os.environ.get("QS_NULLS", 20))
src = prepare_source(sc)
nulls = generate_batch(src, "weight_perm", range(n_nulls), master_seed=20261123)
print(f"{len(nulls.null_index)} weight_perm nulls, seeds {nulls.seed[:3].tolist()} ...")

# --- 3. Compare model FC with empirical FC: analytic Hopf, real vs nulls -------------------------
# Fit G on one group's FC (hcp80), report r on a held-out group (gw80): never on the data G was chosen on.
import torch

from encephagen.analysis.fc import fc_similarity
from encephagen.hopf import fit as hf
from encephagen.hopf import linear as hl

train = load_empirical_fc("hcp80")["fc"]
test = load_empirical_fc("gw80")["fc"]
G = hf.g_grid(0.01, 10.0, 30)
device = "cuda" if torch.cuda.is_available() else "cpu"   # a local GPU is used when there is one


def heldout_r(weights):
    C = hf.normalise_sc(weights)                          # weights / max * 0.2 (Deco et al. 2017)
    fcs = np.stack([hl.fc(C, g, device=device).cpu().numpy() for g in G])   # (G, n, n); NaN past the bifurcation
    r_train = np.nan_to_num(fc_similarity(fcs, train)["pearson"], nan=-1)
    best = int(np.argmax(r_train))
    return G[best], float(fc_similarity(fcs[best], test)["pearson"])


g_real, r_real = heldout_r(sc.weights)
r_nulls = np.array([heldout_r(w)[1] for w in nulls.weights])
p = (1 + np.sum(r_nulls >= r_real)) / (1 + r_nulls.size)   # smallest attainable: 1 / (N + 1)
print(f"analytic Hopf, held-out r: real {r_real:.3f} at G={g_real:.3g}; "
      f"weight_perm nulls median {np.median(r_nulls):.3f}; p = {p:.3f}")

# --- 4. Simulate a batch (real network + nulls, same seeds rule, one call) ----------------------
from encephagen.seeds import derive_seed
from encephagen.sim.runner import simulate

seeds_per_network = int(os.environ.get("QS_SEEDS", 2))
weights = np.concatenate([sc.weights[None], nulls.weights])             # (1 + N, n, n)
W = np.repeat(weights, seeds_per_network, axis=0)
seeds = [derive_seed(20261123, "quickstart", k, s) for k in range(len(weights)) for s in range(seeds_per_network)]
res = simulate("wilson_cowan", W / W.max(axis=(1, 2), keepdims=True), G=0.5, seeds=seeds,
               duration=float(os.environ.get("QS_DURATION_MS", 2000.0)), transient=500.0, noise=0.01,
               device=device)
print(f"simulated {res.batch_size} runs of {res.n} regions in {res.wall_s:.1f} s on {res.device}; "
      f"metrics: {sorted(res.metrics)}")

# --- 5. Compare the simulated activity FC with the empirical FC ---------------------------------
r_sim = fc_similarity(res.fc_activity, test)["pearson"].reshape(len(weights), seeds_per_network).mean(axis=1)
print(f"simulated activity FC vs gw80: real {r_sim[0]:.3f}, nulls median {np.nanmedian(r_sim[1:]):.3f}")
