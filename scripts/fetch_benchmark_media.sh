#!/usr/bin/env bash
# Fetches the real faces and the real speech the eadnet-mesh benchmarks run on, from the Python package registry
# (nothing here is committed to the repository; the files keep their packages' terms):
#   - face_recognition 1.3.0 sdist, tests/test_images/: photos of two people (obama*.jpg, biden.jpg);
#   - insightface 2.1 wheel, data/images/t1.jpg: a group photo (kept whole as group_t1.jpg); three faces are cut
#     out of it (t1_face0..2.png);
#   - silero-vad sdist, tests/data/test.wav: 60 s of real human speech with pauses (16 kHz);
#   - and the example portrait (skimage's public-domain astronaut, shipped in eadnet/assets) as astronaut.png.
# Usage: bash scripts/fetch_benchmark_media.sh [FOLDER]   (default: ./benchmark-media; needs the project's .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmark-media}"
mkdir -p "$out/faces" "$out/speech"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

.venv/bin/python -m pip download --quiet --no-deps --no-binary :all: "face_recognition==1.3.0" -d "$tmp"
.venv/bin/python -m pip download --quiet --no-deps "insightface==2.1" -d "$tmp"
.venv/bin/python -m pip download --quiet --no-deps --no-binary :all: "silero-vad==6.2.3" -d "$tmp"

tar xzf "$tmp"/face_recognition-1.3.0.tar.gz -C "$tmp"
cp "$tmp"/face_recognition-1.3.0/tests/test_images/{obama.jpg,obama2.jpg,biden.jpg} "$out/faces/"
.venv/bin/python - "$tmp" "$out/faces" <<'PY'
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from eadnet.face import MediaPipeFaceDetector

tmp, faces = Path(sys.argv[1]), Path(sys.argv[2])
wheel = next(tmp.glob("insightface-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    group = np.asarray(Image.open(archive.open("insightface/data/images/t1.jpg")).convert("RGB"))
Image.fromarray(group).save(faces / "group_t1.jpg", quality=95)  # the whole photo: the face-choice benchmark
# each face of the group photo, cut out with some room around it (the faces are ~100 px wide)
with MediaPipeFaceDetector() as detector:
    boxes = sorted(detector._find_boxes(group), key=lambda item: item[0][0])
for index, (box, _) in enumerate(boxes):
    width = box[2] - box[0]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = 2.6 * width
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - 0.45 * side))
    x1, y1 = int(min(group.shape[1], cx + side / 2)), int(min(group.shape[0], cy + 0.55 * side))
    Image.fromarray(group[y0:y1, x0:x1]).save(faces / f"t1_face{index}.png")
PY
tar xzf "$tmp"/silero_vad-6.2.3.tar.gz -C "$tmp"
cp "$tmp"/silero_vad-6.2.3/tests/data/test.wav "$out/speech/silero_test.wav"
cp eadnet/assets/portrait.png "$out/faces/astronaut.png"
ls -l "$out"/faces "$out"/speech
