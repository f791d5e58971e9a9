#!/usr/bin/env bash
# The Python packages the lent GPU machines lack for scripts/gpu_speed_check.sh, as wheels for their Python 3.12,
# downloaded here (from the package registry) into ./.whl, which the device tool carries (`carry: [".whl"]`): that
# machine reaches no network. Its image already holds torch, transformers, accelerate, huggingface_hub, OpenCV,
# SciPy, PyYAML, Pillow, safetensors, tokenizers and pytest (the device tool's KINDS.md); EAD-Net's U-Net, VAE and
# tiny pipelines need diffusers, soundfile (with cffi) and soxr on top (about 8 MB with the 28 MB repository: under the 64 MiB a
# call may carry). The end-to-end runs (the shipped models: Whisper tiny.en, MiniLM, MediaPipe, PyAV) would need
# about 300 MB of wheels; gpu_speed_check.sh skips them when those packages are missing.
#
#   bash scripts/gpu_wheels.sh            then, on the device: bash scripts/gpu_speed_check.sh "$OUT/gpu"
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d .whl "diffusers==0.42.1" "soundfile==0.14.0" "cffi==2.0.0" "soxr==1.1.0"
du -sh .whl
