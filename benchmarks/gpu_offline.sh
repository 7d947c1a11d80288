#!/usr/bin/env bash
# The GPU benchmark on a machine without network whose python3 already has torch, lightning, torchmetrics,
# torchvision, scikit-learn, numpy, pillow, pyyaml and matplotlib (the accelerator image), from the repository
# root, with the folder that `make gpu-carry` filled (.gpu/: the CIFAR-10 JPEG archive and the wheels of
# jsonargparse[signatures]) beside it:
#
#     bash benchmarks/gpu_offline.sh [gpu_bench.py arguments]
#
# It installs the carried wheels into $BENCH_SITE (default /tmp/site; nothing else is installed, the package
# itself runs from the checkout through PYTHONPATH) and runs benchmarks/gpu_bench.py. BENCH_SIZE=tiny is the
# rehearsal (`make bench-gpu-rehearsal` runs this same script on the CPU in a bare virtual environment).
set -euo pipefail
start=$SECONDS
carry=${GPU_CARRY:-.gpu}
site=${BENCH_SITE:-/tmp/site}
shopt -s nullglob
wheels=("$carry"/wheels/*.whl)
if [ ${#wheels[@]} -eq 0 ]; then
    echo "error: no wheels in $carry/wheels: run \`make gpu-carry\` where pip and ../shared are" >&2
    exit 2
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "${wheels[@]}"
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
echo "[bench] carried wheels installed into $site: $((SECONDS - start)) s"
status=0
python3 benchmarks/gpu_bench.py "$@" || status=$?
echo "[bench] command wall time: $((SECONDS - start)) s (exit $status)"
exit $status
