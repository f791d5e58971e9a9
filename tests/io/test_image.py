"""Tests for `eadnet.io.image.load_image`: every input type, layout, dtype and the error paths."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from eadnet.io.image import ImageError, load_image


def _png(width: int, height: int, bit_depth: int, color_type: int, raw_rows: bytes | None) -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit RGB, nor lie about the size in its header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    data = zlib.compress(raw_rows if raw_rows is not None else b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _picture(height: int = 32, width: int = 48) -> np.ndarray:
    y, x = np.mgrid[:height, :width]
    return np.stack([x * 5 % 256, y * 7 % 256, (x + y) * 3 % 256], axis=-1).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------- arrays
def test_uint8_rgb_array_is_returned_without_copy():
    picture = _picture()
    loaded = load_image(picture)
    assert loaded is picture or np.shares_memory(loaded, picture)
    assert loaded.dtype == np.uint8 and loaded.shape == (32, 48, 3)


def test_grayscale_array():
    gray = _picture()[..., 0]
    loaded = load_image(gray)
    assert loaded.shape == (32, 48, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], gray)
    np.testing.assert_array_equal(load_image(gray[..., None]), loaded)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, :, 3] = 0  # transparent → white
    rgba[1, :, 3] = 255  # opaque → the colour
    rgba[2, :, 3] = 128  # half → between
    loaded = load_image(rgba)
    np.testing.assert_array_equal(loaded[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(loaded[1, 0], [200, 0, 0])
    assert 220 <= loaded[2, 0, 0] <= 235 and 120 <= loaded[2, 0, 1] <= 135
    gray_alpha = np.stack([np.full((2, 2), 10, np.uint8), np.zeros((2, 2), np.uint8)], axis=-1)
    np.testing.assert_array_equal(load_image(gray_alpha), np.full((2, 2, 3), 255))


def test_float_uint16_and_bool_arrays():
    picture = _picture()
    np.testing.assert_array_equal(load_image(picture.astype(np.float64) / 255.0), picture)
    np.testing.assert_array_equal(load_image(picture.astype(np.uint16) * 257), picture)
    np.testing.assert_array_equal(load_image(picture.astype(np.int64)), picture)
    slightly_over = np.full((2, 2, 3), 1.02, np.float32)
    np.testing.assert_array_equal(load_image(slightly_over), np.full((2, 2, 3), 255))
    mask = np.zeros((3, 3), bool)
    mask[1, 1] = True
    assert load_image(mask)[1, 1].tolist() == [255, 255, 255] and load_image(mask)[0, 0].tolist() == [0, 0, 0]


def test_tensors_chw_hwc_and_batch_of_one():
    picture = _picture()
    chw = torch.from_numpy(picture).permute(2, 0, 1).float() / 255.0
    np.testing.assert_array_equal(load_image(chw), picture)
    np.testing.assert_array_equal(load_image(chw.permute(1, 2, 0)), picture)
    np.testing.assert_array_equal(load_image(chw.permute(1, 2, 0)[None]), picture)  # ComfyUI IMAGE (1, H, W, 3)
    np.testing.assert_array_equal(load_image(chw.to(torch.bfloat16)).shape, picture.shape)
    np.testing.assert_array_equal(load_image(torch.from_numpy(picture)), picture)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((8, 8, 5), np.uint8), "shape"),
        (np.zeros((2, 8, 8, 3), np.uint8), "shape"),
        (np.zeros((0, 8, 3), np.uint8), "shape"),
        (np.full((4, 4, 3), 255.0, np.float32), r"\[0, 1\]"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.full((4, 4, 3), 300, np.int32), "0..255"),
        (np.zeros((4, 4, 3), np.complex64), "dtype"),
    ],
)
def test_unsupported_arrays_raise_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        load_image(value)


def test_unsupported_type_raises_type_error():
    with pytest.raises(TypeError, match="list"):
        load_image([[0, 0, 0]])


def test_8000_by_8000_loads_with_sane_memory():
    gray = np.zeros((8000, 8000), np.uint8)  # 64 megapixels
    gray[::100, ::100] = 255
    tracemalloc.start()
    try:
        loaded = load_image(gray)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert loaded.shape == (8000, 8000, 3) and loaded[100, 100].tolist() == [255, 255, 255]
    assert peak < 2 * loaded.nbytes  # the result plus less than one more copy
    rgb = np.zeros((8000, 8000, 3), np.uint8)
    assert load_image(rgb) is rgb


def test_8000_by_8000_png_file_loads(tmp_path):
    gray = np.zeros((8000, 8000), np.uint8)
    gray[::100, ::100] = 255
    Image.fromarray(gray).save(tmp_path / "big.png", compress_level=1)
    loaded = load_image(tmp_path / "big.png")
    assert loaded.shape == (8000, 8000, 3) and loaded.flags.writeable
    assert loaded[4000, 4000].tolist() == [255, 255, 255] and loaded[4001, 4000].tolist() == [0, 0, 0]


# ------------------------------------------------------------------------------------------------------ files
def test_paths_and_pil_images_of_many_modes(tmp_path):
    picture = _picture()
    Image.fromarray(picture).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(load_image(tmp_path / "rgb.png"), picture)
    np.testing.assert_array_equal(load_image(str(tmp_path / "rgb.png")), picture)
    np.testing.assert_array_equal(load_image(Image.fromarray(picture)), picture)
    gray = Image.fromarray(picture[..., 0])
    np.testing.assert_array_equal(load_image(gray)[..., 2], picture[..., 0])
    palette = Image.fromarray(picture).convert("P")
    assert load_image(palette).shape == (32, 48, 3)
    cmyk = Image.fromarray(picture).convert("CMYK")
    assert np.abs(load_image(cmyk).astype(int) - picture.astype(int)).max() <= 2


def test_rgba_png_file(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 2] = 255
    rgba[:4, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "logo.png")
    loaded = load_image(tmp_path / "logo.png")
    np.testing.assert_array_equal(loaded[0, 0], [0, 0, 255])
    np.testing.assert_array_equal(loaded[7, 7], [255, 255, 255])


def test_16_bit_pngs_are_scaled_to_8_bit(tmp_path):
    gray16 = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    assert Image.open(tmp_path / "gray16.png").mode.startswith("I")
    loaded = load_image(tmp_path / "gray16.png")
    np.testing.assert_array_equal(loaded[..., 0], np.round(gray16 / 257.0).astype(np.uint8))

    rgb16 = np.zeros((4, 4, 3), np.uint16)
    rgb16[..., 0], rgb16[..., 1], rgb16[..., 2] = 65535, 32896, 0  # 255, 128, 0 in 8 bits
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)
    (tmp_path / "rgb16.png").write_bytes(_png(4, 4, 16, 2, rows))
    loaded = load_image(tmp_path / "rgb16.png")
    assert loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - np.array([255, 128, 0])).max() <= 1


def test_exif_orientation_of_jpegs_is_applied(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:8, :8] = 255  # white marker at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write it
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    loaded = load_image(tmp_path / "phone.jpg")
    assert loaded.shape == (40, 20, 3)
    bright = np.argwhere(loaded.mean(axis=-1) > 128)
    assert bright[:, 0].max() < 10 and bright[:, 1].min() >= 20 - 10  # now at the top-right
    # An image made in memory carries no orientation to apply.
    assert load_image(Image.fromarray(stored)).shape == (20, 40, 3)


def test_missing_corrupt_and_truncated_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ImageError, match="noise.png"):
        load_image(tmp_path / "noise.png")
    Image.fromarray(_picture(256, 256)).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    assert issubclass(ImageError, ValueError)


def test_max_pixels_guard_runs_before_decoding(tmp_path):
    # A 12000×12000 PNG header over a few bytes of data: refused from the header, before any decoding (decoding
    # would fail with an ImageError instead).
    (tmp_path / "bomb.png").write_bytes(_png(12000, 12000, 8, 2, None))
    with pytest.raises(ValueError, match="144.0 megapixels") as info:
        load_image(tmp_path / "bomb.png")
    assert not isinstance(info.value, ImageError)
    (tmp_path / "huge.png").write_bytes(_png(20000, 20000, 8, 2, None))  # beyond Pillow's own limit
    with pytest.raises(ValueError, match="downscale"):
        load_image(tmp_path / "huge.png", max_pixels=None)
    Image.fromarray(_picture()).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(tmp_path / "small.png", max_pixels=1000)
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(_picture(), max_pixels=1000)
    assert load_image(tmp_path / "small.png", max_pixels=None).shape == (32, 48, 3)


def test_example_portrait_asset():
    from eadnet.assets import example_portrait_path

    portrait = load_image(example_portrait_path())
    assert portrait.shape == (512, 512, 3) and portrait.dtype == np.uint8
    assert portrait.std() > 30  # a photograph, not a blank image
