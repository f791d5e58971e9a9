"""Synthetic talking clips: a real portrait warped by its own face mesh so that the mouth follows speech and the face
shows an emotion.

Used for tests and for training a small offline demo model when no talking-head data set is at hand. The face is
moved by the expression engine (:mod:`eadnet.expression`): the portrait's 478-point MediaPipe face mesh is detected
once, and every frame is a :class:`~eadnet.expression.animation.MotionTrack` row rendered by a
:class:`~eadnet.expression.rig.FaceRig` — the portrait's own lip gap closed, the mouth opened by the frame's mouth
parameters (the jaw opening from the phoneme timeline, or all six parameters), the emotion's FACS action units
(:data:`~eadnet.expression.emotions.EMOTION_ACTION_UNITS`), seeded blinks and a small head sway, by a fold-free
piecewise-affine warp with the inside of the mouth drawn where the lips part. The ``eadnet-mesh`` engine renders
talking faces through the same code, so a training clip and a generated one are made alike.

```py
>>> from eadnet.data.synthetic import make_synthetic_clip
>>> clip = make_synthetic_clip(text="Hello there, how are you today?", emotion="happy", intensity=2)
>>> clip.frames.shape, clip.fps  # (F, 512, 512, 3) uint8, 25 fps; F = ceil(duration × fps)
```
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from eadnet.assets import example_portrait_path, example_speech_path, example_speech_text
from eadnet.data.synthetic.speech import (
    DEFAULT_VOICE,
    SpeechTrack,
    mouth_openness_from_audio,
    mouth_openness_from_phonemes,
    synthesize_speech,
)
from eadnet.emotion import check_intensity, normalize_label
from eadnet.expression.emotions import emotion_strength
from eadnet.face import MediaPipeFaceDetector, NoFaceError

# eadnet.io (PIL, soundfile, soxr) and scipy are imported where a portrait is loaded or triangulated and a clip is
# written, so that importing `eadnet.data.synthetic` for a corpus plan or for speech alone does not load them.

logger = logging.getLogger(__name__)

__all__ = [
    "LABELS_FILE",
    "IdentityAugmentation",
    "SyntheticClip",
    "SyntheticClipSpec",
    "SyntheticTalker",
    "emotion_strength",
    "make_synthetic_clip",
    "write_synthetic_videos",
]


# ---------------------------------------------------------------------------------------------------- augmentation
@dataclass
class IdentityAugmentation:
    """Changes of framing and look applied identically to every frame of a clip (so that one portrait gives many
    identities), after the face is animated.

    Args:
        flip (`bool`, *optional*, defaults to `False`): Mirror left-right.
        scale (`float`, *optional*, defaults to 1): Zoom about the image centre (> 1 crops in, < 1 shows more,
            the border being mirrored).
        shift (`tuple[float, float]`, *optional*, defaults to `(0, 0)`): Translation as fractions of width and
            height (a crop off-centre).
        rotation (`float`, *optional*, defaults to 0): Rotation in degrees, counter-clockwise.
        brightness (`float`, *optional*, defaults to 0): Added to all channels, as a fraction of 255.
        contrast (`float`, *optional*, defaults to 1): Factor about mid-grey.
        saturation (`float`, *optional*, defaults to 1): Factor on the distance from each pixel's grey.
        hue_shift (`float`, *optional*, defaults to 0): Hue rotation in degrees.
        gamma (`float`, *optional*, defaults to 1): Gamma applied after the other colour changes.
        light_strength (`float`, *optional*, defaults to 0): Side lighting: the gain runs linearly from
            ``1 - light_strength`` to ``1 + light_strength`` across the image.
        light_angle (`float`, *optional*, defaults to 0): Direction the light comes from, in degrees (0: from the
            image's right, 90: from the top).
    """

    flip: bool = False
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    rotation: float = 0.0
    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue_shift: float = 0.0
    gamma: float = 1.0
    light_strength: float = 0.0
    light_angle: float = 0.0

    def __post_init__(self):
        self.shift = (float(self.shift[0]), float(self.shift[1]))
        if not 0.25 <= self.scale <= 4.0:
            raise ValueError(f"scale must be in [0.25, 4], got {self.scale!r}")
        if self.contrast < 0 or self.saturation < 0 or self.gamma <= 0:
            raise ValueError("contrast and saturation must be >= 0 and gamma > 0")
        if not 0.0 <= self.light_strength < 1.0:
            raise ValueError(f"light_strength must be in [0, 1), got {self.light_strength!r}")

    @classmethod
    def random(cls, seed: int | np.random.Generator | None = None, strength: float = 1.0) -> IdentityAugmentation:
        """A random augmentation; ``strength`` scales every range (0: none, 1: moderate).

        Args:
            seed (`int` or `np.random.Generator`, *optional*): Seed or generator.
            strength (`float`, *optional*, defaults to 1): Scale of the ranges.
        """
        rng = np.random.default_rng(seed)
        s = float(strength)
        return cls(
            flip=bool(rng.random() < 0.5) if s > 0 else False,
            scale=float(np.exp(rng.uniform(-0.12, 0.18) * s)),
            shift=(float(rng.uniform(-0.05, 0.05) * s), float(rng.uniform(-0.05, 0.05) * s)),
            rotation=float(rng.uniform(-4.0, 4.0) * s),
            brightness=float(rng.uniform(-0.08, 0.08) * s),
            contrast=float(np.exp(rng.uniform(-0.2, 0.2) * s)),
            saturation=float(np.exp(rng.uniform(-0.35, 0.3) * s)),
            hue_shift=float(rng.uniform(-8.0, 8.0) * s),
            gamma=float(np.exp(rng.uniform(-0.2, 0.2) * s)),
            light_strength=float(min(0.9, rng.uniform(0.0, 0.3) * s)),
            light_angle=float(rng.uniform(0.0, 360.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable values."""
        values = dataclasses.asdict(self)
        values["shift"] = list(self.shift)
        return values

    def is_geometric_identity(self) -> bool:
        return not self.flip and self.scale == 1.0 and self.shift == (0.0, 0.0) and self.rotation == 0.0

    def _matrix(self, width: int, height: int) -> np.ndarray:
        """2×3 map from input to output pixels."""
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        matrix = cv2.getRotationMatrix2D(centre, self.rotation, self.scale)
        matrix[0, 2] += self.shift[0] * width
        matrix[1, 2] += self.shift[1] * height
        if self.flip:
            matrix = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0, 0, 1]])
        return matrix

    def _colour_tables(self, width: int, height: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        gain = None
        if self.light_strength > 0:
            angle = math.radians(self.light_angle)
            xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
            ys = np.linspace(1.0, -1.0, height, dtype=np.float32)[:, None]
            ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / math.sqrt(2.0)
            gain = (1.0 + self.light_strength * ramp)[..., None]
        lut = None
        if self.brightness != 0 or self.contrast != 1 or self.gamma != 1:
            values = np.arange(256, dtype=np.float64) / 255.0
            values = (values - 0.5) * self.contrast + 0.5 + self.brightness
            values = np.clip(values, 0.0, 1.0) ** self.gamma
            lut = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
        return gain, lut

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Applies the augmentation to uint8 RGB frames ``(H, W, 3)``; yields new frames."""
        matrix = gain = lut = None
        for frame in frames:
            height, width = frame.shape[:2]
            if matrix is None:
                matrix = None if self.is_geometric_identity() else self._matrix(width, height)
                gain, lut = self._colour_tables(width, height)
            out = frame
            if matrix is not None:
                out = cv2.warpAffine(
                    out, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
                )
            if self.saturation != 1 or self.hue_shift != 0:
                hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
                hsv[..., 0] = (hsv[..., 0] + self.hue_shift * 256.0 / 360.0) % 256.0
                hsv[..., 1] = np.clip(hsv[..., 1] * self.saturation, 0, 255)
                out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)
            if gain is not None:
                out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
            if lut is not None:
                out = cv2.LUT(out, lut)
            yield np.ascontiguousarray(out)


# ---------------------------------------------------------------------------------------------------- talker
class SyntheticTalker:
    r"""Animates one portrait: mouth opening per frame, emotion, head motion and blinks, rendered by the expression
    engine's :class:`~eadnet.expression.rig.FaceRig` (the same warp the ``eadnet-mesh`` engine and the expression
    editor use; see the module docstring).

    Args:
        portrait (`np.ndarray`, `PIL.Image.Image`, `str` or `os.PathLike`): The face photo (anything
            `eadnet.io.load_image` reads); frames have its resolution.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Gives the 478-point face mesh; defaults to a new
            [`~eadnet.face.MediaPipeFaceDetector`].
        landmarks (`np.ndarray`, *optional*): ``(478, 2)`` face-mesh pixel coordinates to use instead of detecting.

    Raises:
        `eadnet.face.NoFaceError`: no face was found in the portrait.
    """

    def __init__(self, portrait: Any, detector: Any = None, landmarks: np.ndarray | None = None):
        # lazy: PIL/soundfile (eadnet.io) and OpenCV/SciPy (the rig) only when a face is animated, so that a corpus
        # plan or speech synthesis alone does not load them
        from eadnet.expression.rig import FaceRig
        from eadnet.io import load_image

        self.portrait = load_image(portrait)
        self.height, self.width = self.portrait.shape[:2]
        if landmarks is None:
            if detector is None:
                with MediaPipeFaceDetector() as own_detector:
                    detection = own_detector.detect(self.portrait)
            else:
                detection = detector.detect(self.portrait)
            if detection is None:
                raise NoFaceError()
            landmarks = detection.landmarks
        self.rig = FaceRig(self.portrait, landmarks)
        self.landmarks = self.rig.landmarks

    @property
    def iod(self) -> float:
        """Inter-ocular distance of the face in pixels."""
        return self.rig.iod

    def track(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        mouth: np.ndarray | None = None,
    ):
        """The :class:`~eadnet.expression.animation.MotionTrack` of a clip (arguments as in :meth:`render`): the
        emotion's action units at full strength from the first frame (training clips show the emotion throughout) in
        place of the portrait's own lip-corner expression (the engine's default: a smiling portrait made sad loses
        its smile), seeded blinks and head sway, the portrait's own lip gap closed."""
        from eadnet.expression.animation import MotionTrack  # lazy: see __init__
        from eadnet.expression.editor import own_expression
        from eadnet.expression.emotions import emotion_action_units
        from eadnet.expression.mouth_params import NUM_MOUTH_PARAMS

        openness = np.asarray(openness, dtype=np.float64)
        if openness.ndim != 1 or openness.size < 1:
            raise ValueError(f"openness must be a non-empty 1-D array (one value per frame), got {openness.shape}")
        if not np.all(np.isfinite(openness)):
            raise ValueError("openness must be finite")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        if mouth is None:
            mouth = np.zeros((openness.size, NUM_MOUTH_PARAMS))
            mouth[:, 0] = np.clip(openness, 0.0, 1.0)
        elif np.shape(mouth) != (openness.size, NUM_MOUTH_PARAMS):
            raise ValueError(f"mouth must be ({openness.size}, {NUM_MOUTH_PARAMS}), got {np.shape(mouth)}")
        units = emotion_action_units(normalize_label(emotion), intensity)
        return MotionTrack.build(
            np.clip(mouth, 0.0, 1.0),
            units,
            fps=fps,
            seed=seed,
            blink=blink,
            head_motion=1.0 if head_motion else 0.0,
            onset_s=0.0,
            remove=own_expression(self.rig),
        )

    def target_points(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        mouth: np.ndarray | None = None,
    ) -> np.ndarray:
        """Where the control points go in each frame: ``(F, P, 2)`` pixels; the first 468 are the face mesh.

        Takes the same arguments as :meth:`render`.
        """
        from eadnet.expression.animation import track_points  # lazy: see __init__

        return track_points(self.rig, self.track(openness, emotion, intensity, seed, head_motion, blink, fps, mouth))

    def iter_render(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        augmentation: IdentityAugmentation | None = None,
        mouth: np.ndarray | None = None,
    ) -> Iterator[np.ndarray]:
        """Like :meth:`render`, one frame at a time (for long clips)."""
        from eadnet.expression.animation import render_track  # lazy: see __init__

        frames = render_track(self.rig, self.track(openness, emotion, intensity, seed, head_motion, blink, fps, mouth))
        return frames if augmentation is None else augmentation.apply(frames)

    def render(
        self,
        openness: np.ndarray,
        emotion: str = "neutral",
        intensity: float = 1,
        seed: int = 0,
        head_motion: bool = True,
        blink: bool = True,
        fps: float = 25.0,
        augmentation: IdentityAugmentation | None = None,
        mouth: np.ndarray | None = None,
    ) -> np.ndarray:
        """Renders a talking clip of the portrait.

        Args:
            openness (`np.ndarray`): Mouth opening per frame ``(F,)`` in ``[0, 1]`` (0 closed lips, 1 wide open),
                e.g. from `eadnet.data.synthetic.speech.mouth_openness_from_phonemes`.
            emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label (``angry``, ``contempt``,
                ``disgusted``, ``fear``, ``happy``, ``neutral``, ``sad``, ``surprised``) or an alias.
            intensity (`float`, *optional*, defaults to 1): MEAD level 1 (slight), 2 (medium) or 3 (strong);
                values in ``[0, 3]`` in between are interpolated (see `emotion_strength`).
            seed (`int`, *optional*, defaults to 0): Seed of the head motion and blink timing; the same arguments
                always give the same frames.
            head_motion (`bool`, *optional*, defaults to `True`): Add a small smooth head sway (about 2 degrees).
            blink (`bool`, *optional*, defaults to `True`): Blink every 2–5 s.
            fps (`float`, *optional*, defaults to 25): Frame rate (timing of blinks and head motion).
            augmentation ([`IdentityAugmentation`], *optional*): Framing and colour changes applied to every frame.
            mouth (`np.ndarray`, *optional*): ``(F, 6)`` mouth parameters (:data:`eadnet.expression.MOUTH_PARAMS`,
                e.g. from `eadnet.data.synthetic.visemes.mouth_params_from_phonemes`) instead of the jaw opening
                alone; ``openness`` then only gives the frame count.

        Returns:
            `np.ndarray`: uint8 RGB frames ``(F, H, W, 3)`` at the portrait's resolution.
        """
        frames = self.iter_render(openness, emotion, intensity, seed, head_motion, blink, fps, augmentation, mouth)
        return np.stack(list(frames))


# ---------------------------------------------------------------------------------------------------- clips
@dataclass
class SyntheticClip:
    """A synthetic talking clip.

    Args:
        frames (`np.ndarray`): uint8 RGB ``(F, H, W, 3)``.
        audio (`np.ndarray`): float32 mono speech ``(N,)``.
        sample_rate (`int`): Sample rate of ``audio``.
        fps (`float`): Frame rate; ``F = ceil(duration × fps)``.
        openness (`np.ndarray`): The mouth opening that drove the frames, float32 ``(F,)`` in ``[0, 1]``.
        emotion (`str`): MEAD label.
        intensity (`int`): MEAD level 1–3.
        text (`str`, *optional*, defaults to `""`): The words spoken (empty when the speech came as audio only).
        voice (`str`, *optional*, defaults to `""`): espeak-ng voice, when synthesised.
        timeline (`list[tuple[float, float, str]]`, *optional*): Phoneme timeline of the speech, when known.
        seed (`int`, *optional*, defaults to 0): Seed of the head motion and blinks.
        augmentation ([`IdentityAugmentation`], *optional*): The augmentation applied to the frames.
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: float
    openness: np.ndarray
    emotion: str
    intensity: int
    text: str = ""
    voice: str = ""
    timeline: list[tuple[float, float, str]] = field(default_factory=list)
    seed: int = 0
    augmentation: IdentityAugmentation | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return len(self.audio) / float(self.sample_rate)


def _speech_track(text: str | None, speech: Any, voice: str, rate: int, pitch: int) -> SpeechTrack:
    """The speech of `make_synthetic_clip`: synthesised from ``text``, given, or the example speech."""
    if isinstance(speech, SpeechTrack):
        return speech
    if speech is None and text is not None:
        return synthesize_speech(text, voice=voice, rate=rate, pitch=pitch)
    if speech is None:
        speech, text = example_speech_path(), example_speech_text()
    if isinstance(speech, str | os.PathLike):
        from eadnet.io import load_audio

        waveform, sample_rate = load_audio(speech)
    elif isinstance(speech, tuple) and len(speech) == 2:
        waveform, sample_rate = speech
    else:
        raise TypeError(
            "speech must be a SpeechTrack, an audio file path or a (waveform, sample_rate) tuple, "
            f"got {type(speech).__name__}"
        )
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 2:
        waveform = waveform.mean(axis=0)
    if waveform.ndim != 1 or waveform.size == 0:
        raise ValueError(f"speech waveform must be (N,) or (channels, N) and not empty, got {waveform.shape}")
    if int(sample_rate) <= 0:
        raise ValueError(f"speech sample rate must be positive, got {sample_rate!r}")
    return SpeechTrack(waveform, int(sample_rate), [], text=text or "")


def make_synthetic_clip(
    portrait: Any = None,
    text: str | None = None,
    speech: Any = None,
    emotion: str = "neutral",
    intensity: int = 1,
    voice: str = DEFAULT_VOICE,
    rate: int = 160,
    pitch: int = 50,
    fps: float = 25.0,
    seed: int = 0,
    head_motion: bool = True,
    blink: bool = True,
    augmentation: IdentityAugmentation | None = None,
    detector: Any = None,
) -> SyntheticClip:
    """Makes a talking clip of a portrait saying a text (or any speech) with an emotion.

    The mouth follows the phoneme timeline when the speech is synthesised here (or given as a [`SpeechTrack`]),
    otherwise the loudness of the audio (`eadnet.data.synthetic.speech.mouth_openness_from_audio`).

    Args:
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or [`SyntheticTalker`], *optional*): The face;
            defaults to the example portrait (`eadnet.assets.example_portrait_path`). Pass a talker to reuse its
            face mesh across clips.
        text (`str`, *optional*): Words to synthesise with espeak-ng; with ``speech``, only recorded as the words
            of that speech.
        speech ([`SpeechTrack`], `str`, `os.PathLike` or `tuple[np.ndarray, int]`, *optional*): Speech to use
            (mono or ``(channels, N)`` samples with their rate, or an audio file). With neither ``text`` nor
            ``speech``, the example speech (`eadnet.assets.example_speech_path`) is used.
        emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label or alias.
        intensity (`int`, *optional*, defaults to 1): MEAD level 1 (slight), 2 (medium) or 3 (strong).
        voice (`str`, *optional*, defaults to `"en-us"`): espeak-ng voice for ``text``
            (see `eadnet.data.synthetic.speech.list_voices`).
        rate (`int`, *optional*, defaults to 160): Speaking rate in words per minute for ``text``.
        pitch (`int`, *optional*, defaults to 50): Voice pitch 0–99 for ``text``.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        seed (`int`, *optional*, defaults to 0): Seed of the head motion and blinks.
        head_motion (`bool`, *optional*, defaults to `True`): Small smooth head sway.
        blink (`bool`, *optional*, defaults to `True`): Occasional blinks.
        augmentation ([`IdentityAugmentation`], *optional*): Framing and colour changes applied to every frame.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face-mesh detector when ``portrait`` is not a talker.

    Returns:
        [`SyntheticClip`]: ``ceil(duration × fps)`` frames at the portrait's resolution, with the speech.
    """
    emotion = normalize_label(emotion)
    intensity = check_intensity(intensity)
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if isinstance(portrait, SyntheticTalker):
        talker = portrait
    else:
        if portrait is None:
            portrait = example_portrait_path()
        talker = SyntheticTalker(portrait, detector=detector)
    track = _speech_track(text, speech, voice, rate, pitch)
    num_frames = track.num_frames(fps)
    if track.timeline:
        openness = mouth_openness_from_phonemes(track.timeline, num_frames, fps=fps)
    else:
        openness = mouth_openness_from_audio(track.waveform, track.sample_rate, num_frames, fps=fps)
    frames = talker.render(openness, emotion, intensity, seed, head_motion, blink, fps, augmentation)
    return SyntheticClip(
        frames=frames,
        audio=np.asarray(track.waveform, dtype=np.float32),
        sample_rate=track.sample_rate,
        fps=float(fps),
        openness=openness,
        emotion=emotion,
        intensity=intensity,
        text=track.text if text is None else text,
        voice=track.voice,
        timeline=list(track.timeline),
        seed=int(seed),
        augmentation=augmentation,
    )


# ---------------------------------------------------------------------------------------------------- data sets
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

#: Name of the label file `write_synthetic_videos` writes next to the speaker folders.
LABELS_FILE = "labels.jsonl"


@dataclass
class SyntheticClipSpec:
    """One clip for `write_synthetic_videos`.

    Args:
        text (`str`): Words to speak.
        emotion (`str`, *optional*, defaults to `"neutral"`): MEAD label or alias.
        intensity (`int`, *optional*, defaults to 1): MEAD level 1–3.
        voice (`str`, *optional*, defaults to `"en-us"`): espeak-ng voice.
        rate (`int`, *optional*, defaults to 160): Words per minute.
        pitch (`int`, *optional*, defaults to 50): Voice pitch 0–99.
        speaker (`str`, *optional*, defaults to `"synthetic"`): Speaker folder name (letters, digits, ``_ . -``).
        seed (`int`, *optional*, defaults to 0): Seed of head motion and blinks.
        portrait (`str`, *optional*): Portrait file for this clip; defaults to the ``portrait`` given to
            `write_synthetic_videos`.
        augmentation ([`IdentityAugmentation`] or `dict`, *optional*): Framing and colour changes for the clip.
    """

    text: str
    emotion: str = "neutral"
    intensity: int = 1
    voice: str = DEFAULT_VOICE
    rate: int = 160
    pitch: int = 50
    speaker: str = "synthetic"
    seed: int = 0
    portrait: str | None = None
    augmentation: IdentityAugmentation | None = None

    def __post_init__(self):
        if isinstance(self.augmentation, dict):
            self.augmentation = IdentityAugmentation(**self.augmentation)
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"text must be a non-empty string, got {self.text!r}")
        self.emotion = normalize_label(self.emotion)
        self.intensity = check_intensity(self.intensity)
        if not isinstance(self.speaker, str) or not _FOLDER_NAME.match(self.speaker):
            raise ValueError(f"speaker must be a folder name of letters, digits and _ . -, got {self.speaker!r}")


def write_synthetic_videos(
    out_dir: str | os.PathLike,
    specs: Iterable[SyntheticClipSpec | dict],
    portrait: Any = None,
    fps: float = 25.0,
    head_motion: bool = True,
    blink: bool = True,
    overwrite: bool = False,
    detector: Any = None,
) -> list[dict[str, Any]]:
    """Writes synthetic talking clips as MP4 videos (H.264 + AAC) in MEAD's folder layout, with a label file.

    ```
    OUT_DIR/
      labels.jsonl                               one JSON object per clip (below)
      {speaker}/{emotion}/level_{intensity}/001.mp4, 002.mp4, ...
    ```

    Each label row holds ``path`` (relative to ``out_dir``, with ``/``), ``speaker``, ``text``, ``voice``, ``rate``,
    ``pitch``, ``emotion``, ``intensity``, ``fps``, ``num_frames``, ``duration``, ``sample_rate``, ``seed``,
    ``augmentation`` (a dict or ``null``), ``timeline`` (``[start_s, end_s, phoneme]`` rows) and ``openness`` (the
    ground-truth mouth opening per frame). Clips are numbered per folder in the order of ``specs``.

    Args:
        out_dir (`str` or `os.PathLike`): Output folder (created if needed).
        specs (`Iterable[SyntheticClipSpec | dict]`): The clips; dicts are passed to [`SyntheticClipSpec`].
        portrait (`np.ndarray`, `str`, `os.PathLike`, `PIL.Image.Image` or [`SyntheticTalker`], *optional*): Default
            face; defaults to the example portrait.
        fps (`float`, *optional*, defaults to 25): Frame rate.
        head_motion (`bool`, *optional*, defaults to `True`): Small smooth head sway.
        blink (`bool`, *optional*, defaults to `True`): Occasional blinks.
        overwrite (`bool`, *optional*, defaults to `False`): Replace existing videos and ``labels.jsonl``.
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face-mesh detector.

    Returns:
        `list[dict]`: the label rows, as written.

    Raises:
        `FileExistsError`: a video or ``labels.jsonl`` exists and ``overwrite`` is `False`.
    """
    from eadnet.io import atomic_output, write_video

    out_dir = Path(out_dir)
    specs = [spec if isinstance(spec, SyntheticClipSpec) else SyntheticClipSpec(**spec) for spec in specs]
    labels_path = out_dir / LABELS_FILE
    if labels_path.exists() and not overwrite:
        raise FileExistsError(f"{str(labels_path)!r} exists; pass overwrite=True to replace the data set")
    out_dir.mkdir(parents=True, exist_ok=True)
    talkers: dict[str, SyntheticTalker] = {}
    if isinstance(portrait, SyntheticTalker):
        talkers[""] = portrait

    def talker_for(spec: SyntheticClipSpec) -> SyntheticTalker:
        key = spec.portrait or ""
        if key not in talkers:
            source = spec.portrait
            if source is None:
                source = example_portrait_path() if portrait is None else portrait
            talkers[key] = SyntheticTalker(source, detector=detector)
        return talkers[key]

    counters: dict[tuple[str, str, int], int] = {}
    rows: list[dict[str, Any]] = []
    for spec in specs:
        folder = (spec.speaker, spec.emotion, spec.intensity)
        counters[folder] = counters.get(folder, 0) + 1
        relative = f"{spec.speaker}/{spec.emotion}/level_{spec.intensity}/{counters[folder]:03d}.mp4"
        track = synthesize_speech(spec.text, voice=spec.voice, rate=spec.rate, pitch=spec.pitch)
        talker = talker_for(spec)
        num_frames = track.num_frames(fps)
        openness = mouth_openness_from_phonemes(track.timeline, num_frames, fps=fps)
        frames = talker.iter_render(
            openness, spec.emotion, spec.intensity, spec.seed, head_motion, blink, fps, spec.augmentation
        )
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames, fps, audio=track.waveform, sample_rate=track.sample_rate, overwrite=overwrite)
        logger.info("wrote %s (%d frames, %s %d)", path, num_frames, spec.emotion, spec.intensity)
        rows.append(
            {
                "path": relative,
                "speaker": spec.speaker,
                "text": track.text,
                "voice": track.voice,
                "rate": spec.rate,
                "pitch": spec.pitch,
                "emotion": spec.emotion,
                "intensity": spec.intensity,
                "fps": float(fps),
                "num_frames": num_frames,
                "duration": round(track.duration, 6),
                "sample_rate": track.sample_rate,
                "seed": spec.seed,
                "portrait": spec.portrait,
                "augmentation": None if spec.augmentation is None else spec.augmentation.to_dict(),
                "timeline": [[round(start, 5), round(end, 5), name] for start, end, name in track.timeline],
                "openness": [round(float(value), 4) for value in openness],
            }
        )
    with atomic_output(labels_path, overwrite=overwrite) as tmp:
        tmp.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return rows
