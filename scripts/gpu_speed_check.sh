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
# Compare with LatentSync's published speed for the same U-Net (docs/benchmarks.md, "DeepCache").
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-speed}"
mkdir -p "$out"
python="${PYTHON:-.venv/bin/python}"
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

echo "== both engines end to end, 4 s of speech: eadnet-mesh, and eadnet-mini uncached (today's figure) beside"
echo "   the cache alone, the cache with the text-guidance reuse (the preset's default), fp32 and offload"
"$python" -m eadnet bench generate --models eadnet-mesh eadnet-mini --durations 4 --device cuda --repeats 3 \
  --variants uncached cache=4,text=off preset dtype=float32 offload=on --json "$out/generate.json" \
  || echo "end-to-end run: failed (exit $?)"

# torch.compile last, each bounded: the compilation itself takes minutes and is not part of the figures above
echo "== base, 256 px, float16, torch.compile (the warm-up forwards compile; bounded at 150 s)"
timeout 150 "$python" -m eadnet bench model --configs base --resolution 256 --frames 16 --dtype float16 --repeats 5 \
  --skip-attention --cache-depths 1 --cache-intervals 2 3 5 --device cuda --compile \
  --json "$out/model_256_float16_compile.json" || echo "compiled base config: failed or timed out (exit $?)"
echo "== eadnet-mini end to end, the preset's default with and without torch.compile (bounded at 150 s)"
timeout 150 "$python" -m eadnet bench generate --models eadnet-mini --durations 4 --device cuda --repeats 3 \
  --variants preset compile=on --json "$out/generate_compile.json" || echo "compiled eadnet-mini: failed or timed out (exit $?)"
