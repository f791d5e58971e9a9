#!/usr/bin/env bash
# The diffusion engine's speed on a GPU, ready for the next session that is lent one (no network needed there):
# the base config (LatentSync's U-Net + EAD modules, random weights: timing only) at 256 px and 512 px, 16 frames,
# fp32 and fp16, every U-Net step in full and with DeepCache (a full pass every 2, 3, 5 steps), the SD VAE's decode
# memory per chunk of frames (does a 512 px clip fit in 8 GB?), and the bundled eadnet-mini end to end with and
# without the cache (and with the guidance reuse on cached steps). Under 5 minutes on an H100; numbers go to stdout
# and OUT/.
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

for resolution in 256 512; do
  for dtype in float32 float16; do
    echo "== base, ${resolution} px, ${dtype}"
    "$python" -m eadnet bench model --configs base --resolution "$resolution" --frames 16 --dtype "$dtype" \
      --repeats 5 --skip-attention --cache-depths 1 --cache-intervals 2 3 5 --device cuda --vae-chunks 1 4 8 16 \
      --json "$out/model_${resolution}_${dtype}.json"
  done
done

for interval in 1 4; do
  echo "== eadnet-mini end to end, cache interval ${interval}"
  "$python" -m eadnet bench generate --models eadnet-mini --durations 4 --device cuda --cache-interval "$interval" \
    --cache-text-guidance off --repeats 3 --json "$out/generate_cache${interval}.json"
done
echo "== eadnet-mini end to end, cache interval 4 with the text-guidance reuse (the preset's default)"
"$python" -m eadnet bench generate --models eadnet-mini --durations 4 --device cuda --cache-interval 4 \
  --cache-text-guidance on --repeats 3 --json "$out/generate_cache4_text.json"
"$python" -m eadnet bench compare "$out/generate_cache1.json" "$out/generate_cache4.json"
"$python" -m eadnet bench compare "$out/generate_cache1.json" "$out/generate_cache4_text.json"
