"""The per-frame mouth parameters: what the learned audio-to-mouth model predicts and the mesh engine renders.

Each parameter is a value in ``[0, 1]`` per video frame (0: rest, the lips closed and relaxed). They are
articulatory, not acoustic, so that one set of weights drives every face (the renderer turns them into mesh
displacements in units of the face's inter-ocular distance, :mod:`eadnet.expression.action_units`):

| name | what moves | typical phonemes |
| --- | --- | --- |
| ``jaw_open`` | jaw drops, lips part (FACS AU25 + AU26/27) | open vowels /a/, /ɑ/ |
| ``lip_spread`` | lip corners pulled out (AU20) | /i/, /e/ |
| ``lip_round`` | lips rounded and pushed forward, corners in (AU18 + AU22) | /u/, /o/, /w/, /ʃ/ |
| ``lip_press`` | lips pressed together (AU24) | /m/, /b/, /p/ |
| ``lower_lip_tuck`` | lower lip raised against the upper teeth | /f/, /v/ |
| ``upper_lip_raise`` | upper lip raised, upper teeth shown (AU10) | /s/, /t/, /θ/ (teeth visible) |
"""

from __future__ import annotations

#: Names of the mouth parameters, in the order of the model's output channels.
MOUTH_PARAMS: tuple[str, ...] = (
    "jaw_open",
    "lip_spread",
    "lip_round",
    "lip_press",
    "lower_lip_tuck",
    "upper_lip_raise",
)

NUM_MOUTH_PARAMS = len(MOUTH_PARAMS)
