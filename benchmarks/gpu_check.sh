#!/usr/bin/env bash
# The GPU checks of issue 20 item 4 as ONE prepared run on a lent GPU machine (docs/simulation.md "GPU"):
# the CPU-vs-CUDA tests, then the cuBNM-shaped workload (benchmarks/bench_cubnm.py), bench_sim,
# bench_spiking and bench_hopf on CUDA. Each section has its own time limit and the whole run a
# deadline (BUDGET seconds): a section that would not fit is skipped and says so. Logs under $OUT.
#
#   OUT=/tmp/gpu BUDGET=540 bash benchmarks/gpu_check.sh
#
# Python packages the machine lacks travel as wheels in .whl/ (installed to /tmp/site, no network).
# Session 11 carried: .whl (cma dill dpath jsonschema jsonschema-specifications referencing rpds-py
# neurolib numexpr, cp312 manylinux), resources/connectomes, resources/fc, resources/t1t2 (bench_hopf) and
# resources/raw/cubnm/cubnm/data/hcp/sc (bench_cubnm's SC); the whole run took 520 s of a 540 s budget.
set -u
OUT=${OUT:-gpu-check-out}
BUDGET=${BUDGET:-540}
DEV=${DEV:-cuda}
mkdir -p "$OUT"
T0=$(date +%s)
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 ENCEPHAGEN_RESOURCES=${ENCEPHAGEN_RESOURCES:-resources}
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1
  python3 -c "import torch, numpy, numba, triton, sys; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__, 'triton', triton.__version__, 'cuda', torch.cuda.is_available())" 2>&1
  nproc; } | tee "$OUT/env.txt"

left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
section() {   # section NAME LIMIT_S command...
  local name=$1 lim=$2; shift 2
  if [ "$(left)" -lt "$lim" ]; then lim=$(left); fi
  if [ "$lim" -lt 20 ]; then echo "=== $name: skipped (deadline)"; return; fi
  echo "=== $name (limit ${lim}s, at $(( $(date +%s) - T0 ))s)"
  timeout -k 5 "$lim" "$@" > "$OUT/$name.log" 2>&1
  echo "=== $name rc=$? ($(( $(date +%s) - T0 ))s)"
  tail -n "${TAIL:-14}" "$OUT/$name.log"
}

section tests 150 python3 -m pytest -q -p no:cacheprovider -o addopts="" -ra \
  tests/test_sim_noise_philox.py tests/test_fcd_batch.py tests/test_planner.py \
  "tests/test_sim_runner.py::test_cpu_and_cuda_agree" \
  "tests/test_spiking_backends.py::test_cuda_matches_cpu_statistically" \
  "tests/test_plasticity_stdp.py::test_stdp_nest_trajectory_on_cuda"
TAIL=12 section cubnm 270 python3 benchmarks/bench_cubnm.py --device "$DEV" --batches ${CUBNM_BATCHES:-1024 32768} \
  --duration-ms ${CUBNM_MS:-60000}
section sim 80 python3 benchmarks/bench_sim.py --device "$DEV" --modes compiled --batches ${SIM_BATCHES:-4096} \
  --distinct 64 --own-delays --duration-ms 2000 --batch-duration-ms ${SIM_MS:-1000}
section spiking 50 python3 benchmarks/bench_spiking.py --device "$DEV" --threads 1 --brian-threads \
  --torch-duration 0 --duration ${SPK_S:-0.5} --batch ${SPK_BATCH:-1 8} --out /tmp/spiking.json
section hopf 40 python3 benchmarks/bench_hopf.py --atlas schaefer100 --device "$DEV" --threads 8 \
  --n-nulls ${HOPF_NULLS:-1000} --n-g 50 --peer-samples 2
TAIL=8 section cubnm_gather 60 python3 benchmarks/bench_cubnm.py --device "$DEV" --zero-lag gather \
  --batches ${GATHER_BATCHES:-32768} --duration-ms 12000 --bold-remove-ms 0
# host time per call bounds small batches (session 11): more ticks per compiled call, if time is left
TAIL=8 section cubnm_ticks 120 python3 benchmarks/bench_cubnm.py --device "$DEV" --ticks-per-call ${CUBNM_TICKS:-10} \
  --batches ${TICKS_BATCHES:-64}
echo "=== done at $(( $(date +%s) - T0 ))s"
