"""Loading portraits: any path, PIL image, numpy array or torch tensor → uint8 RGB `(H, W, 3)`."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_PIXELS", "ImageError", "load_image"]

#: Largest image accepted by default: 100 megapixels (an 8000×8000 photograph, 64 MP, loads).
DEFAULT_MAX_PIXELS = 100_000_000

# Modes whose transparency is composited on white.
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


class ImageError(ValueError):
    """An image file that cannot be decoded (damaged, truncated or not an image)."""


def _check_pixels(width: int, height: int, max_pixels: int | None, what: str) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ValueError(
            f"{what} is {width}×{height} = {width * height / 1e6:.1f} megapixels, more than the allowed "
            f"{max_pixels / 1e6:g}; downscale it first (a portrait needs well under 10 megapixels) or raise max_pixels"
        )


def _composite_on_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 RGB and uint8 alpha → uint8 RGB over a white background."""
    weight = alpha.astype(np.float32)[..., None] / 255.0
    out = rgb.astype(np.float32) * weight + 255.0 * (1.0 - weight)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _from_pil(image: Image.Image, max_pixels: int | None, what: str) -> np.ndarray:
    _check_pixels(image.width, image.height, max_pixels, what)
    if getattr(image, "format", None):  # opened from a file: apply its EXIF orientation (JPEG, PNG, TIFF, WebP)
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # 16-bit (or 32-bit integer) grayscale
        gray = np.clip(np.asarray(image).astype(np.float64) / 257.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":  # 32-bit float grayscale: assumed in [0, 1]
        return _from_array(np.asarray(image), max_pixels, what)
    if mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"))
        return _composite_on_white(rgba[..., :3], rgba[..., 3])
    if mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    return np.array(image, dtype=np.uint8)  # a writable copy, independent of the PIL image


def _from_array(array: np.ndarray, max_pixels: int | None, what: str) -> np.ndarray:
    if array.ndim == 4 and array.shape[0] == 1:  # a batch of one, e.g. a ComfyUI IMAGE (1, H, W, C)
        array = array[0]
    if array.ndim == 3 and array.shape[-1] not in (1, 2, 3, 4) and array.shape[0] in (1, 2, 3, 4):
        array = np.moveaxis(array, 0, -1)  # (C, H, W) → (H, W, C)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or 0 in array.shape:
        raise ValueError(
            f"{what} must be (H, W), (H, W, C) or (C, H, W) with C in 1 (gray), 2 (gray + alpha), 3 (RGB) or "
            f"4 (RGBA); got shape {tuple(array.shape)}"
        )
    _check_pixels(array.shape[1], array.shape[0], max_pixels, what)
    array = _to_uint8(array, what)
    channels = array.shape[-1]
    if channels in (2, 4):
        color, alpha = array[..., :-1], array[..., -1]
        array = _composite_on_white(np.repeat(color, 3, axis=-1) if channels == 2 else color, alpha)
    elif channels == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array)


def _to_uint8(array: np.ndarray, what: str) -> np.ndarray:
    dtype = array.dtype
    if dtype == np.uint8:
        return array
    if dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if dtype == np.uint16:
        return ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(dtype, np.floating):
        array = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            raise ValueError(f"{what} holds NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -0.5 or high > 1.5:
            raise ValueError(
                f"float {what} must hold values in [0, 1], got [{low:.3g}, {high:.3g}]; divide 0..255 images by 255 "
                "and map [-1, 1] images with (x + 1) / 2"
            )
        return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if np.issubdtype(dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low >= 0 and high <= 255:
            return array.astype(np.uint8)
        raise ValueError(f"integer {what} must hold values in 0..255 (or be uint16), got [{low}, {high}]")
    raise ValueError(f"unsupported {what} dtype {dtype}; use uint8, uint16 or float in [0, 1]")


def _open_file(path: Path, max_pixels: int | None) -> np.ndarray:
    what = f"image {str(path)!r}"
    try:
        with warnings.catch_warnings():
            # Pillow's own decompression-bomb warning fires above ~89 MP; `max_pixels` is the limit here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_pixels(image.width, image.height, max_pixels, what)
                image.load()
                return _from_pil(image, max_pixels, what)
    except Image.DecompressionBombError as error:
        raise ValueError(f"{what} is too large for Pillow ({error}); downscale it first") from error
    except UnidentifiedImageError as error:
        raise ImageError(f"{what} is not an image Pillow can read; use PNG, JPEG or WebP") from error
    except PermissionError:
        raise
    except (OSError, SyntaxError) as error:  # truncated or damaged data
        message = f"cannot decode {what} ({error}); the file is damaged — re-export it as PNG or JPEG"
        raise ImageError(message) from error


def load_image(image: Any, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Loads a portrait as uint8 RGB `(H, W, 3)`.

    Accepted inputs:

    - a path (`str` or `os.PathLike`) of any image Pillow reads; the EXIF orientation is applied (phone JPEGs are
      stored sideways with an orientation tag);
    - a PIL image of any mode (the EXIF orientation is applied to images opened from files, not to images made in
      memory); 16-bit grayscale is scaled to 8 bits;
    - a numpy array `(H, W)`, `(H, W, C)` or `(C, H, W)` with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA),
      of dtype uint8, uint16 (scaled to 8 bits), bool, float in [0, 1], or integers in 0..255; a leading batch
      dimension of 1 is dropped;
    - a torch tensor with the same layouts (e.g. `(3, H, W)` or `(H, W, 3)` float in [0, 1]).

    Transparency is composited on white. A uint8 RGB array is returned as is (not copied).

    Args:
        image (`str`, `os.PathLike`, `PIL.Image.Image`, `np.ndarray` or `torch.Tensor`):
            The image.
        max_pixels (`int`, *optional*, defaults to `DEFAULT_MAX_PIXELS`):
            Largest accepted width × height, checked before a file is decoded; `None` for no limit.

    Returns:
        `np.ndarray`: uint8 RGB `(H, W, 3)`, C-contiguous.

    Raises:
        `FileNotFoundError`: a path that does not exist.
        `ImageError`: a file that cannot be decoded (a subclass of `ValueError`).
        `ValueError`: an unsupported shape, dtype or value range, or an image larger than `max_pixels`.
        `TypeError`: an input of another type.
    """
    if isinstance(image, str | os.PathLike):
        path = Path(image).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"image file not found: {str(path)!r}")
        if path.is_dir():
            raise ImageError(f"{str(path)!r} is a folder, not an image file")
        return _open_file(path, max_pixels)
    if isinstance(image, Image.Image):
        return _from_pil(image, max_pixels, "image")
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # torch.Tensor, without importing torch here
        tensor = image.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.float()  # bfloat16 / float16 have no (or a lossy) numpy path
        return _from_array(tensor.numpy(), max_pixels, "image tensor")
    if isinstance(image, np.ndarray):
        return _from_array(image, max_pixels, "image array")
    raise TypeError(
        f"cannot load an image from {type(image).__name__}; give a path, a PIL image, a numpy array or a torch tensor"
    )
