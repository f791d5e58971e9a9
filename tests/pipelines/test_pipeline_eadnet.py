"""EADNetPipeline on tiny real components with a simple box face processor (the real face stage is tested in
tests/face and end to end in tests/test_generate.py)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from eadnet.pipelines import GenerationCancelled
from eadnet.pipelines.inputs import ping_pong, source_schedule
from eadnet.pipelines.pipeline_eadnet import _window_starts
from eadnet.settings import FALLBACK_SAMPLING, SamplingDefaults
from eadnet.testing import TINY_CROP_SIZE

SAMPLE_RATE = 16000


@pytest.fixture(scope="module")
def portrait():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, size=(60, 70, 3), dtype=np.uint8)
    return image


def speech(seconds, rate=SAMPLE_RATE, seed=0):
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    noise = np.random.default_rng(seed).normal(0, 0.05, t.shape)
    return (envelope * np.sin(2 * np.pi * 220 * t) * 0.3 + noise).astype(np.float32)


def run(pipe, portrait, seconds=0.5, **kwargs):
    # the synthetic "speech" is no speech to a voice-activity detector: keep its frames denoised, not at rest
    options = {
        "num_inference_steps": 2,
        "output_type": "np",
        "generator": torch.Generator().manual_seed(0),
        "close_mouth_in_silence": False,
    }
    options.update(kwargs)
    return pipe(image=portrait, audio=speech(seconds), sample_rate=SAMPLE_RATE, **options)


def test_frames_match_audio_length_and_keep_pixels_outside_the_face(pipe, portrait):
    out = run(pipe, portrait, seconds=0.5, emotion="happy:3")
    assert out.frames.shape == (13, 60, 70, 3)  # ceil(0.5 s * 25 fps) frames at the portrait's size
    assert out.fps == 25
    assert "happy" in out.emotion_description
    as_uint8 = (out.frames * 255).round().astype(np.uint8)
    outside = np.ones((60, 70), dtype=bool)
    outside[4:52, 8:56] = False
    assert np.array_equal(as_uint8[:, outside], np.broadcast_to(portrait[outside], (13, outside.sum(), 3)))
    # the face square did get generated content
    assert not np.array_equal(as_uint8[0, 4:52, 8:56], portrait[4:52, 8:56])


def test_seeded_runs_are_reproducible_and_seeds_matter(pipe, portrait):
    first = run(pipe, portrait, generator=torch.Generator().manual_seed(3)).frames
    second = run(pipe, portrait, generator=torch.Generator().manual_seed(3)).frames
    other = run(pipe, portrait, generator=torch.Generator().manual_seed(4)).frames
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("output_type", ["pil", "pt", "latent"])
def test_output_types(pipe, portrait, output_type):
    out = run(pipe, portrait, seconds=0.2, output_type=output_type)
    if output_type == "pil":
        assert len(out.frames) == 5 and out.frames[0].size == (70, 60)
    elif output_type == "pt":
        assert out.frames.shape == (5, 3, 60, 70) and out.frames.dtype == torch.float32
    else:
        assert out.frames.shape == (1, 4, 5, TINY_CROP_SIZE // 8, TINY_CROP_SIZE // 8)


def test_windows_cover_the_clip_and_seams_are_smooth(pipe, portrait):
    """A clip longer than a window: every frame is produced once, in order, and the change across a window
    seam is no larger than the changes between neighbouring frames inside windows."""
    windows = list(
        pipe.generate_windows(
            image=portrait,
            audio=speech(1.6),
            sample_rate=SAMPLE_RATE,
            num_inference_steps=2,
            generator=torch.Generator().manual_seed(0),
            window_size=8,
            window_overlap=3,
        )
    )
    starts = [w.start for w in windows]
    frames = np.concatenate([w.frames for w in windows]).astype(np.float32)
    assert frames.shape[0] == 40 and starts[0] == 0
    assert starts == sorted(starts) and len(windows) > 3
    boundaries = set(starts[1:])
    diffs = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))  # diffs[i] = |frame i+1 - frame i|
    seam = [diffs[b - 1] for b in boundaries]
    inside = [d for i, d in enumerate(diffs) if i + 1 not in boundaries]
    assert max(seam) <= max(inside) * 1.5 + 1e-6


def test_guidance_branches(pipe, portrait):
    base = run(pipe, portrait, emotion="sad:2", audio_guidance_scale=1.0, text_guidance_scale=1.0).frames
    audio_cfg = run(pipe, portrait, emotion="sad:2", audio_guidance_scale=2.0, text_guidance_scale=1.0).frames
    assert not np.array_equal(base, audio_cfg)
    calls = []
    original = pipe.unet.forward

    def spy(sample, *args, **kwargs):
        calls.append(sample.shape[0])
        return original(sample, *args, **kwargs)

    pipe.unet.forward = spy
    try:
        run(pipe, portrait, seconds=0.2, emotion="sad:2", audio_guidance_scale=2.0, text_guidance_scale=3.0)
    finally:
        del pipe.unet.forward
    assert calls == [3, 3], "conditional + null-audio + null-text branches batched together, 2 steps"


def test_callback_sees_every_step_and_can_cancel(pipe, portrait):
    seen = []

    def record(pipeline, step, timestep, kwargs):
        seen.append((step, tuple(kwargs["latents"].shape)))
        return kwargs

    out = run(pipe, portrait, seconds=0.8, callback_on_step_end=record, window_size=8, window_overlap=2)
    assert [s for s, _ in seen] == list(range(out.report.total_steps))
    assert out.report.total_steps == 2 * len(_window_starts(20, 8, 2))

    def cancel(pipeline, step, timestep, kwargs):
        if step == 1:
            pipeline.interrupt = True
        return kwargs

    with pytest.raises(GenerationCancelled):
        run(pipe, portrait, callback_on_step_end=cancel)


def test_video_input_loops_back_and_forth(pipe):
    rng = np.random.default_rng(1)
    video = rng.integers(0, 255, size=(4, 60, 70, 3), dtype=np.uint8)
    out = pipe(
        video=video,
        audio=speech(0.4),
        sample_rate=SAMPLE_RATE,
        num_inference_steps=1,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    )
    frames = (out.frames * 255).round().astype(np.uint8)
    assert frames.shape == (10, 60, 70, 3)
    order = [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    # Outside the face square each output frame is its scheduled source frame.
    for index, source in enumerate(order):
        assert np.array_equal(frames[index, 55:], video[source, 55:])


def test_bad_inputs_raise_clear_errors(pipe, portrait):
    with pytest.raises(ValueError, match="silent"):
        pipe(image=portrait, audio=np.zeros(8000, np.float32), sample_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="exactly one of image"):
        pipe(audio=speech(0.2), sample_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="emotion"):
        run(pipe, portrait, emotion="joyous")
    with pytest.raises(ValueError, match="only one of"):
        run(pipe, portrait, emotion="happy", emotion_text="smiling")
    with pytest.raises(ValueError, match="output_type"):
        run(pipe, portrait, output_type="gif")
    with pytest.raises(ValueError, match="window_overlap"):
        run(pipe, portrait, window_size=4, window_overlap=4)
    with pytest.raises(ValueError, match="num_inference_steps"):
        run(pipe, portrait, num_inference_steps=0)
    with pytest.raises(ValueError, match="audio"):
        pipe(image=portrait, audio=np.zeros((2, 2, 2, 2)), sample_rate=SAMPLE_RATE)


def test_window_helpers():
    assert _window_starts(10, 16, 4) == [0]
    assert _window_starts(16, 16, 4) == [0]
    assert _window_starts(30, 16, 4) == [0, 12, 14]
    assert ping_pong(np.arange(9), 4).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert ping_pong(np.arange(3), 1).tolist() == [0, 0, 0]
    # a 30 fps source shown at 25 fps, played back and forth past its 4 frames
    assert source_schedule(6, 25.0, 30.0, 4).tolist() == [0, 1, 2, 3, 2, 0]  # source frames 0 1 2 3 4 6
    assert source_schedule(3, 25.0, None, 10).tolist() == [0, 1, 2]


def test_staged_calls_equal_the_fused_run(pipe, portrait):
    """prepare_* → denoise_windows(decode=False) → decode_crops → paste_back (the ComfyUI stage nodes) gives
    the same frames as generate_windows."""
    audio = speech(0.9)
    fused = np.concatenate(
        [
            w.frames
            for w in pipe.generate_windows(
                image=portrait,
                audio=audio,
                sample_rate=SAMPLE_RATE,
                emotion="fear:1",
                num_inference_steps=2,
                generator=torch.Generator().manual_seed(5),
                window_size=8,
                window_overlap=2,
                close_mouth_in_silence=False,
            )
        ]
    )
    features, num_frames = pipe.prepare_audio(audio, SAMPLE_RATE, 25.0)
    plan = pipe.prepare_faces(portrait, None, num_frames, 25.0, None, "error")
    text = pipe.encode_emotion(pipe.describe_emotion("fear:1"), 1.0)
    windows = list(
        pipe.denoise_windows(
            plan,
            features,
            num_frames,
            text,
            num_inference_steps=2,
            generator=torch.Generator().manual_seed(5),
            window_size=8,
            window_overlap=2,
            decode=False,
        )
    )
    assert all(w.frames is None for w in windows)
    latents = torch.cat([w.latents for w in windows], dim=2)
    assert latents.shape[2] == num_frames
    staged = pipe.paste_back(plan, pipe.decode_crops(latents, plan), start=0)
    assert np.array_equal(staged, fused)
    with pytest.raises(ValueError, match="face plan"):
        pipe.decode_crops(latents, plan, start=3)


def test_strength_starts_from_the_noised_reference_and_runs_the_last_steps(pipe, portrait):
    seen = []

    def record(pipeline, step, timestep, kwargs):
        seen.append(int(timestep))
        return kwargs

    run(pipe, portrait, seconds=0.3, num_inference_steps=10, strength=0.3, callback_on_step_end=record)
    pipe.scheduler.set_timesteps(10)
    assert seen == [int(t) for t in pipe.scheduler.timesteps[-3:]]  # the last 3 of 10 steps, per window

    # the first model input is the reference latents noised to the first kept step with the seed's noise: the
    # noise recovered from it equals the pure noise a strength-1 run of the same seed starts from
    def first_input(strength):
        captured = []
        hook = pipe.unet.register_forward_pre_hook(lambda module, args: captured.append(args[0][0].clone()))
        try:
            run(pipe, portrait, seconds=0.3, num_inference_steps=10, strength=strength)
        finally:
            hook.remove()
        pipe.scheduler.set_timesteps(10)
        first_t = pipe.scheduler.timesteps[len(pipe.scheduler.timesteps) - round(10 * strength)]
        return captured[0], pipe.scheduler.alphas_cumprod[first_t]

    pure, _ = first_input(1.0)
    for strength in (0.3, 0.6):
        model_input, alpha = first_input(strength)
        noisy, reference = model_input[:4], model_input[9:13]
        recovered = (noisy - alpha.sqrt() * reference) / (1 - alpha).sqrt()
        assert torch.allclose(recovered, pure[:4], atol=1e-4)
    # None means the preset's (1.0 without a preset: the LatentSync schedule from pure noise)
    defaults = pipe.sampling_defaults
    assert defaults == FALLBACK_SAMPLING
    assert (defaults.num_inference_steps, defaults.audio_guidance_scale, defaults.text_guidance_scale) == (
        20,
        1.5,
        1.0,
    )
    assert defaults.strength == 1.0
    for bad in (0.0, 1.5, -1):
        with pytest.raises(ValueError, match="strength"):
            run(pipe, portrait, strength=bad)


def test_audio_offset_feeds_each_frame_the_later_audio(pipe, portrait):
    def first_audio(**kwargs):
        captured = []
        hook = pipe.unet.register_forward_pre_hook(
            lambda module, args, kwargs: captured.append(kwargs["audio_embeds"][0].clone()), with_kwargs=True
        )
        try:
            run(pipe, portrait, seconds=0.5, **kwargs)
        finally:
            hook.remove()
        return captured[0]  # (F, tokens, D) of the first window's conditional branch

    plain, later = first_audio(), first_audio(audio_offset=1.0)
    assert not torch.equal(plain, later)
    assert torch.equal(later[:-1], plain[1:])  # frame t now hears what frame t+1 heard (one frame = 40 ms)
    assert torch.equal(first_audio(audio_offset=0.0), plain)  # no preset: the default offset is 0
    assert pipe.audio_shift(None, 25.0) == 0
    assert pipe.audio_shift(1.5, 25.0) == 3 and pipe.audio_shift(-0.5, 25.0) == -1
    assert pipe.audio_shift(1.0, 50.0) == 1  # one 50 fps frame is one 20 ms Whisper frame
    for bad in (float("nan"), True, "1", 1000.0):
        with pytest.raises(ValueError, match="audio_offset"):
            run(pipe, portrait, audio_offset=bad)


def test_whisper_frames_with_massive_activations_get_the_null_audio(pipe, monkeypatch):
    track = speech(1.0)
    raw, num_frames = pipe.prepare_audio(track, SAMPLE_RATE, 25.0, null_outliers=False)
    assert not pipe.audio_encoder.outlier_frames(raw).any()
    assert torch.equal(pipe.prepare_audio(track, SAMPLE_RATE, 25.0)[0], raw)  # nothing to null: unchanged
    massive = raw.clone()
    massive[:, 20:23, -1] *= 30.0  # what whisper-tiny(.en) puts on a few frames of a pause between sentences
    monkeypatch.setattr(pipe.audio_encoder, "encode_whisper_features", lambda *args: massive.clone())
    features, same_frames = pipe.prepare_audio(track, SAMPLE_RATE, 25.0)
    assert same_frames == num_frames
    assert torch.count_nonzero(features[:, 20:23]) == 0  # zero tokens: the null audio of audio dropout
    keep = torch.ones(raw.shape[1], dtype=torch.bool)
    keep[20:23] = False
    assert torch.equal(features[:, keep], raw[:, keep])
    assert torch.equal(pipe.prepare_audio(track, SAMPLE_RATE, 25.0, null_outliers=False)[0], massive)


def test_null_audio_outliers_follows_the_preset(pipe, monkeypatch):
    track = speech(0.5)
    raw, _ = pipe.prepare_audio(track, SAMPLE_RATE, 25.0, null_outliers=False)
    massive = raw.clone()
    massive[:, 5, 0] *= 30.0
    monkeypatch.setattr(pipe.audio_encoder, "encode_whisper_features", lambda *args: massive.clone())
    assert torch.count_nonzero(pipe.prepare_audio(track, SAMPLE_RATE, 25.0)[0][:, 5]) == 0  # no preset: on
    monkeypatch.setattr(
        pipe, "preset", SimpleNamespace(sampling=SamplingDefaults(null_audio_outliers=False)), raising=False
    )
    assert torch.equal(pipe.prepare_audio(track, SAMPLE_RATE, 25.0)[0], massive)
    assert torch.count_nonzero(pipe.prepare_audio(track, SAMPLE_RATE, 25.0, null_outliers=True)[0][:, 5]) == 0


def test_an_abandoned_stream_does_not_block_the_next_run(pipe, portrait):
    stream = pipe.generate_windows(
        image=portrait, audio=speech(1.0), sample_rate=SAMPLE_RATE, num_inference_steps=1, window_size=8
    )
    next(stream)  # the consumer stops after one window (e.g. it raised) and keeps the generator around
    assert pipe.total_steps is not None
    out = run(pipe, portrait, seconds=0.3)
    assert out.report.num_frames == 8 and pipe.total_steps is None
    stream.close()  # closing the old stream later leaves the pipeline's state alone
    assert pipe.total_steps is None
    assert run(pipe, portrait, seconds=0.3).report.total_steps == out.report.total_steps
