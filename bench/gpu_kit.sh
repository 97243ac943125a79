#!/usr/bin/env bash
# The GPU check of issue #15, for a session that is lent a GPU machine (the `device` tool of this workplace).
#
# That machine has Python 3.12, torch with CUDA 13 libraries, numpy and OpenCV, but not onnxruntime-gpu, openvino,
# faiss-cpu, lap or ultralytics, and no network. One call carries at most 64 MiB, and onnxruntime-gpu's wheel alone
# is 256 MB. So the packages and assets the benches need go in one xz-compressed tar cut into parts, one part per
# call, gathered in /tmp on the warm machine (it keeps /tmp between calls while it stays warm: call again within
# its 30 s) and unpacked by the last call, which runs the benches.
#
# Here (network to the package registry):   bash bench/gpu_kit.sh prepare      -> .gpukit/part_* (git-ignored)
# There, one call per part, in order:        carry [".gpukit/part_aa"], command: bash bench/gpu_kit.sh gather
# There, the last call:                      carry [the last part],      command: bash bench/gpu_kit.sh run
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpukit
PART_MB=${PART_MB:-56}  # leaves room in the 64 MiB for the working tree

case "${1:-}" in
prepare)
  grep -qx "/$KIT/" .git/info/exclude 2>/dev/null || echo "/$KIT/" >> .git/info/exclude
  rm -rf "$KIT" && mkdir -p "$KIT/stage/whl" "$KIT/stage/assets"
  py=.venv/bin/python
  ver() { $py -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
  for pkg in onnxruntime-gpu openvino faiss-cpu lap ultralytics ultralytics-thop; do
    v=$(ver "$pkg"); v=${v:+==$v}
    $py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_5_x86_64 \
      -d "$KIT/stage/whl" "$pkg$v"
  done
  A="${REID_TEST_ASSETS:-../shared/assets}"
  (cd "$A" && tar cf - models/detection/yolov8n_int8.onnx models/reid_person videos/pedestrians videos/traffic mot/MOT17-mini \
     reid_samples images/ultralytics) | tar xf - -C "$KIT/stage/assets"
  tar cf - -C "$KIT/stage" . | xz -T0 -6 | split -b "${PART_MB}m" - "$KIT/part_"
  rm -rf "$KIT/stage"
  ls -l "$KIT"
  echo "calls: $(ls $KIT/part_* | wc -l), each carrying one part (the last one with 'run')"
  ;;
gather)
  mkdir -p /tmp/gpukit && cp "$KIT"/part_* /tmp/gpukit/ && ls -l /tmp/gpukit
  ;;
run)
  mkdir -p /tmp/gpukit && cp "$KIT"/part_* /tmp/gpukit/ 2>/dev/null || true
  rm -rf /tmp/kit && mkdir -p /tmp/kit && cat /tmp/gpukit/part_* | xz -d | tar xf - -C /tmp/kit
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site /tmp/kit/whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD REID_TEST_ASSETS=/tmp/kit/assets REID_MODELS_DIR=/tmp/kit/assets/models
  export YOLO_AUTOINSTALL=false PYTHONUNBUFFERED=1
  out=${OUT:-/tmp}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  python3 -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())"
  # builds the detector's float copy (the INT8 person model and the vehicle export need nncf / torch: not needed)
  python3 -m Algorithm models fetch || true
  {
    python3 bench/bench_detector_models.py --device cuda
    python3 bench/bench_detector_models.py --device cpu
    python3 bench/bench_detector_models.py --device cuda --batches 1,2,4,8,16 --frames 160  # DETECT_BATCH on CUDA
    python3 bench/bench_pipeline.py --device cuda --frames 300
    python3 bench/bench_pipeline.py --device cpu --frames 300
    python3 bench/bench_pipeline.py --device cuda --crowd --frames 900
    python3 bench/bench_pipeline.py --device cuda --crowd --frames 900 --reid osnet_x0_25_msmt17
  } 2>&1 | tee "$out/gpu_check.log"
  ;;
*)
  echo "usage: bash bench/gpu_kit.sh prepare | gather | run" >&2
  exit 2
  ;;
esac
