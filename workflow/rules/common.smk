# Shared Python of the workflow: config validation, input functions, wildcard constraints.
import math
from pathlib import Path

from snakemake.exceptions import WorkflowError

from encephagen.config import ConfigError, validate_config

SCHEMA_DIR = Path(workflow.basedir) / "schemas"

# Validate before any job is submitted; the error names the key path. Defaults are filled in
# place so that every rule (and every SLURM job, which re-parses this file) sees the same config.
try:
    _validated = validate_config(config, SCHEMA_DIR)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)


wildcard_constraints:
    atlas="[A-Za-z0-9]+(-[A-Za-z0-9]+)*",
    family="[a-z_]+",
    batch="[0-9]{4}",
    model="[a-z]+",


ATLASES = list(config["atlases"])


def n_batches(n_items, batch_size):
    return max(1, math.ceil(n_items / batch_size))


def null_families():
    return list(config["nulls"]["families"])


def null_batch_ids(family=None):
    nb = n_batches(config["nulls"]["n_per_family"], config["nulls"]["batch_size"])
    return [f"{b:04d}" for b in range(nb)]


def null_batch_files(atlas, family):
    return [f"results/nulls/atlas-{atlas}/null-{family}/batch-{b}.h5" for b in null_batch_ids(family)]


def all_null_files(atlas):
    return [p for fam in null_families() for p in null_batch_files(atlas, fam)]


def final_targets():
    targets = []
    for name in ("DATA_TARGETS", "NULLS_TARGETS", "SIM_TARGETS", "HOPF_TARGETS", "AGG_TARGETS",
                 "FIGURE_TARGETS"):
        targets += list(globals().get(name, []))
    return targets
