# Shared Python of the workflow: config validation, input functions, wildcard constraints.
import math
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from encephagen.config import ConfigError, workflow_config
from encephagen.schemas import SCHEMA_DIR, section_schema  # package data: the files an installed wheel reads

# Validate before any job is submitted; the error names the key path. Defaults are filled in
# place so that every rule (and every SLURM job, which re-parses this file) sees the same config.
# Keys are sorted and numbers canonical (an integer where the schema says number becomes a float),
# so that reordering a YAML file or writing 3000 for 3000.0 never looks like a parameter change
# (params of rules are compared as written). Strings that --config put inside mappings (Snakemake's
# parser keeps them strings) are coerced to the schema's types. Rules between keys (transient <
# duration, enough nulls for the statistics, sane delay buffers, enough BOLD samples) are refused
# here, before any job. encephagen.config.workflow_config is what `encephagen config validate` runs.
_warnings = []
try:
    _validated = workflow_config(config, SCHEMA_DIR, cli=dict(workflow.config_settings.config), warnings=_warnings)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None
config.clear()
config.update(_validated)
if getattr(workflow, "is_main_process", True):  # once, by the controller (not in every job)
    for _w in _warnings:
        logger.warning(f"encephagen: {_w}")


wildcard_constraints:
    atlas="[A-Za-z0-9]+(-[A-Za-z0-9]+)*",
    family="[a-z_]+",
    batch="[0-9]{4}",
    model="[a-z_]+",


ATLASES = list(config["atlases"])


def n_batches(n_items, batch_size):
    return max(1, math.ceil(n_items / batch_size))


def network_batches(atlas):
    """(family, batch id) of every network file of an atlas: the real network (family 'real',
    batch 0000, made by the nulls stage so it is treated exactly as the nulls) and each null batch.
    The one list of networks every stage (nulls, simulate, hopf, aggregate) builds its files from."""
    nb = n_batches(config["nulls"]["n_per_family"], config["nulls"]["batch_size"])
    out = [("real", "0000")]
    for family in config["nulls"]["families"]:
        out += [(family, f"{b:04d}") for b in range(nb)]
    return out


def stage_files(pattern, atlas, **kw):
    """``pattern`` (with {atlas}, {family}, {batch}, and any ``kw``) for every network batch."""
    return [pattern.format(atlas=atlas, family=f, batch=b, **kw) for f, b in network_batches(atlas)]


# Targets. Each stage's rules file registers one target function with @stage_targets("<stage>");
# `rule all` builds those of the stages named by config key `stages` (by default every one). An unknown name
# there is refused by the schema (enum, naming the key); a stage without a registered function
# (a rules file not included or misnamed) is an error here, never silently no targets.
STAGES = tuple(section_schema("stages")["items"]["enum"])  # the schema names them once
_STAGE_TARGETS = {}


def stage_targets(stage):
    """Decorator: register ``fn`` as the target function of ``stage`` (one of STAGES)."""
    if stage not in STAGES:
        raise WorkflowError(f"stage_targets: unknown stage {stage!r}; known: {', '.join(STAGES)}")

    def register(fn):
        _STAGE_TARGETS[stage] = fn
        return fn

    return register


def targets_of(stage):
    """The target files of one stage (its registered target function)."""
    if stage not in _STAGE_TARGETS:
        raise WorkflowError(
            f"stages: stage {stage!r} has no target function (no rules file registered one with "
            f"@stage_targets({stage!r}); registered: {', '.join(_STAGE_TARGETS) or 'none'})"
        )
    return list(_STAGE_TARGETS[stage]())


def final_targets():
    """The targets of `all`: those of every stage in config key `stages`, in stage order."""
    targets = []
    for stage in config["stages"]:
        targets += targets_of(stage)
    return list(dict.fromkeys(targets))
