"""Facial motion over time: the tracks a talking face is rendered from, and the one function that renders them.

A :class:`MotionTrack` holds, per frame: the six mouth parameters (speech), action-unit intensities (expression,
usually an emotion's prototype under an onset envelope), the lid closure of blinks, a head-pose offset and how much of
the source's own lip gap is closed. :func:`render_track` turns it into frames with a
:class:`~eadnet.expression.rig.FaceRig`: the synthetic training clips (:mod:`eadnet.data.synthetic.talker`) and the
``eadnet-mesh`` engine (:mod:`eadnet.pipelines.pipeline_mesh`) both render through it, so the two never drift apart.

The schedules here are procedural and seeded: :func:`blink_track` (a blink every 2–5 s, 70 ms closing, 160 ms
opening: the kinematics reported by Kwon et al. 2013, "High-speed camera characterization of voluntary eye blinking
kinematics"), :func:`head_motion_track` (slow wandering of pitch, yaw and roll, a couple of degrees, the amplitude of
conversational head motion) and :func:`expression_envelope` (onset, apex and offset of an expression, so that an
emotion eases in rather than popping on at frame 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from eadnet.expression.action_units import normalize_action_units, replace_expression
from eadnet.expression.mouth_params import NUM_MOUTH_PARAMS
from eadnet.expression.rig import FaceRig, HeadPose


def smooth_ramp(x: np.ndarray) -> np.ndarray:
    """Smoothstep of ``x`` clipped to ``[0, 1]`` (zero slope at both ends)."""
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def expression_envelope(num_frames: int, fps: float, onset_s: float = 0.5, offset_s: float = 0.0) -> np.ndarray:
    """Strength of an expression over a clip ``(F,)`` in ``[0, 1]``: a smooth onset over ``onset_s`` seconds, the
    apex held, and a smooth offset over the last ``offset_s`` seconds (0: the expression lasts to the end)."""
    _check_frames(num_frames, fps)
    if onset_s < 0 or offset_s < 0:
        raise ValueError(f"onset_s and offset_s must be >= 0, got {onset_s!r} and {offset_s!r}")
    times = (np.arange(num_frames) + 0.5) / fps
    duration = num_frames / fps
    envelope = smooth_ramp(times / onset_s) if onset_s > 0 else np.ones(num_frames)
    if offset_s > 0:
        envelope = envelope * smooth_ramp((duration - times) / offset_s)
    return envelope


def blink_track(num_frames: int, fps: float, rng: np.random.Generator, first_s: tuple[float, float] = (0.4, 2.2)):
    """Lid closure ``(F,)`` in ``[0, 1]``: blinks every 2–5 s (the first after ``first_s`` seconds), closing in 70 ms,
    closed 30 ms, opening in 160 ms."""
    _check_frames(num_frames, fps)
    times = np.arange(num_frames) / fps
    closure = np.zeros(num_frames)
    start = rng.uniform(*first_s)
    while start < times[-1] + 0.5:
        dt = times - start
        closing = np.clip(dt / 0.07, 0.0, 1.0)
        opening = np.clip(1.0 - (dt - 0.1) / 0.16, 0.0, 1.0)
        closure = np.maximum(closure, np.where(dt < 0, 0.0, np.minimum(closing, opening)))
        start += rng.uniform(2.0, 5.0)
    return closure


def head_motion_track(num_frames: int, fps: float, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Head-pose offsets ``(F, 3)`` in degrees (pitch, yaw, roll): two slow sines per axis with random phases
    (0.12–0.35 Hz and 0.35–0.8 Hz), about 2° of pitch and yaw and 1.3° of roll at ``scale`` 1; 0 keeps the head
    still."""
    _check_frames(num_frames, fps)
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"head motion scale must be >= 0, got {scale!r}")
    times = np.arange(num_frames) / fps
    pose = np.zeros((num_frames, 3))
    for axis, amplitude in enumerate((2.0, 2.2, 1.3)):
        for weight, (low, high) in ((0.65, (0.12, 0.35)), (0.35, (0.35, 0.8))):
            frequency, phase = rng.uniform(low, high), rng.uniform(0.0, 2.0 * np.pi)
            pose[:, axis] += amplitude * weight * np.sin(2.0 * np.pi * frequency * times + phase)
    return pose * scale


@dataclass
class MotionTrack:
    """What a face does in every frame of a clip.

    Args:
        mouth (`np.ndarray`): ``(F, 6)`` mouth parameters in ``[0, 1]`` (:data:`~eadnet.expression.MOUTH_PARAMS`).
        action_units (`np.ndarray`, *optional*): ``(F, K)`` intensities of the units in ``unit_names`` (negative:
            taken away from the face's own expression, see :meth:`build`).
        unit_names (`tuple[str, ...]`): Codes of the columns of ``action_units``.
        blink (`np.ndarray`, *optional*): ``(F,)`` lid closure in ``[0, 1]``.
        pose (`np.ndarray`, *optional*): ``(F, 3)`` head-pose offsets in degrees (pitch, yaw, roll).
        envelope (`np.ndarray`, *optional*): ``(F,)`` strength of the expression over time (already applied to
            ``action_units``; kept for expressions added per frame, see :func:`frame_points`).
        close_mouth (`float`): How much of the source's own lip gap is closed before speech opens the mouth (1: all;
            a portrait that shows its teeth starts from closed lips).
        gaze (`tuple[float, float]`): Iris offset in face units, the same in every frame.
    """

    mouth: np.ndarray
    action_units: np.ndarray | None = None
    unit_names: tuple[str, ...] = ()
    blink: np.ndarray | None = None
    pose: np.ndarray | None = None
    envelope: np.ndarray | None = None
    close_mouth: float = 1.0
    gaze: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        self.mouth = np.asarray(self.mouth, dtype=np.float64)
        if self.mouth.ndim != 2 or self.mouth.shape[1] != NUM_MOUTH_PARAMS or len(self.mouth) < 1:
            raise ValueError(f"mouth must be (F, {NUM_MOUTH_PARAMS}) with F >= 1, got shape {self.mouth.shape}")
        if not np.all(np.isfinite(self.mouth)):
            raise ValueError("mouth parameters must be finite")
        frames = len(self.mouth)
        if self.action_units is not None:
            self.action_units = np.asarray(self.action_units, dtype=np.float64)
            if self.action_units.shape != (frames, len(self.unit_names)):
                raise ValueError(
                    f"action_units must be (F, {len(self.unit_names)}) for unit_names, got {self.action_units.shape}"
                )
        for name, expected in (("blink", (frames,)), ("pose", (frames, 3)), ("envelope", (frames,))):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float64)
                if value.shape != expected:
                    raise ValueError(f"{name} must have shape {expected}, got {value.shape}")
                setattr(self, name, value)

    @property
    def num_frames(self) -> int:
        return len(self.mouth)

    @classmethod
    def build(
        cls,
        mouth: np.ndarray,
        action_units: Mapping[str, float] | None = None,
        fps: float = 25.0,
        seed: int = 0,
        blink: bool = True,
        head_motion: float = 1.0,
        onset_s: float = 0.5,
        offset_s: float = 0.0,
        close_mouth: float = 1.0,
        gaze: tuple[float, float] = (0.0, 0.0),
        remove: Mapping[str, float] | None = None,
    ) -> MotionTrack:
        """A track from per-frame mouth parameters and one expression: the expression under
        :func:`expression_envelope`, seeded blinks (:func:`blink_track`) and head motion (:func:`head_motion_track`
        at ``head_motion`` scale; 0 keeps the head still). ``remove`` is an expression the face already shows (as
        measured, :mod:`eadnet.expression.measure`) that the new one replaces
        (:func:`~eadnet.expression.action_units.replace_expression`), under the same envelope. The same arguments
        always give the same track."""
        mouth = np.asarray(mouth, dtype=np.float64)
        num_frames = len(mouth)
        change = replace_expression(action_units, remove) if remove else normalize_action_units(action_units)
        names = tuple(change)
        values = None
        envelope = expression_envelope(num_frames, fps, onset_s, offset_s)
        if names:
            values = envelope[:, None] * np.array([change[name] for name in names])[None]
        rng = np.random.default_rng(seed)
        blink_rng, head_rng = np.random.default_rng(rng.integers(2**63)), np.random.default_rng(rng.integers(2**63))
        return cls(
            mouth=mouth,
            action_units=values,
            unit_names=names,
            blink=blink_track(num_frames, fps, blink_rng) if blink else None,
            pose=head_motion_track(num_frames, fps, head_rng, head_motion) if head_motion else None,
            envelope=envelope,
            close_mouth=close_mouth,
            gaze=gaze,
        )

    def slice(self, start: int, stop: int) -> MotionTrack:
        """Frames ``[start, stop)`` of the track."""
        return MotionTrack(
            mouth=self.mouth[start:stop],
            action_units=None if self.action_units is None else self.action_units[start:stop],
            unit_names=self.unit_names,
            blink=None if self.blink is None else self.blink[start:stop],
            pose=None if self.pose is None else self.pose[start:stop],
            envelope=None if self.envelope is None else self.envelope[start:stop],
            close_mouth=self.close_mouth,
            gaze=self.gaze,
        )


def frame_points(rig: FaceRig, track: MotionTrack, index: int, remove: Mapping[str, float] | None = None):
    """Output control points ``(P, 2)`` of frame ``index`` of ``track`` (fold-free, see :meth:`FaceRig.points`);
    ``remove`` is this frame's own expression to take away under the track's expression envelope (a source video
    whose expression is replaced frame by frame)."""
    names = list(track.unit_names)
    values = [] if track.action_units is None else list(track.action_units[index])
    if remove:
        envelope = 1.0 if track.envelope is None else float(track.envelope[index])
        target = {name: float(value) for name, value in zip(names, values, strict=True) if value > 0}
        own = {code: envelope * value for code, value in normalize_action_units(remove).items()}
        change = replace_expression(target, own)
        names, values = list(change), list(change.values())
    if track.blink is not None:
        names.append("AU45")
        values.append(track.blink[index])
    mesh = rig.basis.displacements(
        np.asarray(values, dtype=np.float64)[None],
        names,
        mouth=track.mouth[index : index + 1],
        close_mouth=np.array([track.close_mouth]),
    )[0]
    pose = None if track.pose is None else HeadPose(*(float(v) for v in track.pose[index]))
    return rig.points(mesh, pose=pose)


def track_points(rig: FaceRig, track: MotionTrack) -> np.ndarray:
    """Output control points ``(F, P, 2)`` of every frame of ``track``."""
    return np.stack([frame_points(rig, track, index) for index in range(track.num_frames)])


def render_track(rig: FaceRig, track: MotionTrack, backgrounds=None) -> Iterator[np.ndarray]:
    """Renders ``track`` with ``rig``, one frame at a time (memory flat in the clip length).

    Args:
        rig ([`FaceRig`]): The face.
        track ([`MotionTrack`]): What it does.
        backgrounds (`Iterable[np.ndarray]`, *optional*): A frame per track frame to draw on (default: the rig's
            image); pixels outside the moved face are taken from it.

    Yields:
        `np.ndarray`: frames with the rig image's shape and dtype.
    """
    close = track.close_mouth > 0
    backgrounds = iter(backgrounds) if backgrounds is not None else None
    for index in range(track.num_frames):
        out = None if backgrounds is None else np.array(next(backgrounds), copy=True)
        yield rig.render(frame_points(rig, track, index), gaze=track.gaze, close_mouth=close, out=out)


def _check_frames(num_frames: int, fps: float) -> None:
    if isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
    if not (isinstance(fps, int | float) and np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
