"""DeepCache in the U-Net and the pipeline: a cached step on the same input equals the full pass, the cache is
refused for another batch layout and reset at every window, and a cached run stays close to the uncached one."""

import re

import numpy as np
import pytest
import torch

from eadnet.models.feature_cache import DeepCache
from eadnet.models.unet_3d import EADUNet3DModel
from eadnet.pipelines import EADNetPipeline
from eadnet.settings import GenerationSettings
from eadnet.testing import BoxFaceProcessor, tiny_components

SR = 16000


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return EADUNet3DModel.from_named_config("tiny").eval()


def inputs(unet, batch=2, frames=4, size=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    config = unet.config
    sample = torch.randn(batch, config.in_channels, frames, size, size, generator=generator)
    audio = torch.randn(batch, frames, 50, config.cross_attention_dim, generator=generator)
    return sample, audio


@pytest.mark.parametrize("depth", [1, 2])
def test_a_cached_step_on_the_same_input_equals_the_full_pass(unet, depth):
    sample, audio = inputs(unet)
    cache = DeepCache(interval=2, depth=depth)
    with torch.no_grad():
        full = unet(sample, 500, audio).sample
        cache.step(0)
        first = unet(sample, 500, audio, deep_cache=cache).sample
        cache.step(1)
        cached = unet(sample, 500, audio, deep_cache=cache).sample
        other = unet(*inputs(unet, seed=1)[:1], 500, audio, deep_cache=cache).sample
    assert (cache.full_calls, cache.cached_calls) == (1, 2)
    torch.testing.assert_close(first, full, rtol=0, atol=0)
    torch.testing.assert_close(cached, full, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(other, full)  # the shallow branch did see the new input


def test_the_cache_is_refused_for_another_batch_layout_and_forgotten_on_reset(unet):
    cache = DeepCache(interval=4)
    with torch.no_grad():
        cache.step(0)
        sample, audio = inputs(unet, batch=2)
        unet(sample, 10, audio, deep_cache=cache)
        cache.step(1)
        sample, audio = inputs(unet, batch=3)  # a third guidance branch: the kept feature does not fit
        assert not cache.usable(3 * 4)
        torch.testing.assert_close(unet(sample, 10, audio, deep_cache=cache).sample, unet(sample, 10, audio).sample)
        assert (cache.full_calls, cache.cached_calls) == (2, 0)
        cache.reset()
        cache.step(1)
        assert cache.feature is None and not cache.usable(3 * 4)
    with pytest.raises(ValueError, match="interval"):
        DeepCache(interval=0)
    with pytest.raises(ValueError, match="cache_interval"):
        GenerationSettings.from_options(cache_interval=0)


@pytest.fixture(scope="module")
def pipe():
    pipeline = EADNetPipeline(**tiny_components(seed=0, face_processor=BoxFaceProcessor()))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def run(pipe, **options):
    times = np.arange(int(1.0 * SR)) / SR
    audio = (0.3 * np.sin(2 * np.pi * 180 * times)).astype(np.float32)
    portrait = np.random.default_rng(0).integers(0, 255, (60, 70, 3), dtype=np.uint8)
    return pipe(image=portrait, audio=audio, sample_rate=SR, num_inference_steps=6, output_type="np",
                generator=torch.manual_seed(0), close_mouth_in_silence=False, window_size=8, window_overlap=2,
                audio_guidance_scale=2.0, **options)  # fmt: skip


def test_a_cached_run_stays_close_to_the_uncached_one_and_resets_at_every_window(pipe, monkeypatch):
    uncached = run(pipe).frames
    np.testing.assert_array_equal(run(pipe, cache_interval=1).frames, uncached)
    calls = []
    forward = pipe.unet.forward

    def counting(*args, deep_cache=None, **kwargs):
        if deep_cache is not None:
            calls.append(deep_cache.usable(args[0].shape[0] * args[0].shape[2]))
        return forward(*args, deep_cache=deep_cache, **kwargs)

    monkeypatch.setattr(pipe.unet, "forward", counting)
    cached = run(pipe, cache_interval=3).frames
    monkeypatch.undo()
    # 25 frames in windows of 8 overlapping by 2: 4 windows x 6 steps; full at steps 0 and 3 of every window
    assert calls == [False, True, True] * 8
    assert not np.array_equal(cached, uncached)
    psnr = 10 * np.log10(1.0 / np.mean((cached - uncached) ** 2))
    assert psnr > 25, psnr


def test_the_model_benchmark_counts_a_cached_step_cheaper_than_a_full_one(capsys):
    from eadnet.benchmarks.model_bench import deep_cache_costs
    from eadnet.cli import main

    (shallow, deeper) = deep_cache_costs(["mini"], frames=4, latent_size=8, depths=(1, 2), measure_time=False)
    assert shallow.cached_tflops < deeper.cached_tflops < shallow.full_tflops == deeper.full_tflops
    assert 1.0 < shallow.step_ratio(2) < shallow.step_ratio(5) < shallow.full_tflops / shallow.cached_tflops
    assert main(["bench", "model", "--configs", "tiny", "--no-time", "--skip-attention", "--resolution", "64"]) == 0
    out = capsys.readouterr().out
    assert "(c) DeepCache" in out and re.search(r"tiny\s+1\s+[\d.]+\s+[\d.]+\s+-\s+-\s+[\d.]+", out)
    half = ["bench", "model", "--configs", "tiny", "--skip-attention", "--resolution", "64", "--frames", "4"]
    assert main([*half, "--dtype", "float16", "--device", "cpu"]) == 2  # fp16 needs a GPU: explained, not crashed
    assert main([*half, "--dtype", "bfloat16", "--device", "cpu"]) == 0
    assert "dtype=bfloat16" in capsys.readouterr().out


def test_a_bfloat16_pipeline_runs_its_models_in_half_and_its_arithmetic_in_fp32(tiny_model_dir):
    """Half precision on CPU (bf16; CUDA fp16 takes the same path): the U-Net and the VAE get bf16 inputs, Whisper
    stays in fp32, the latents the scheduler steps and the step callback sees are fp32, the frames are finite."""
    from eadnet.pipelines.engines import load_pipeline

    pipe = load_pipeline(str(tiny_model_dir), dtype=torch.bfloat16)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.unet.dtype == pipe.vae.dtype == torch.bfloat16 and pipe.audio_encoder.dtype == torch.float32
    seen = {}

    def record(module, args):
        seen.setdefault("unet", args[0].dtype)

    hook = pipe.unet.register_forward_pre_hook(record)

    def callback(pipeline, step, timestep, tensors):
        seen.setdefault("latents", tensors["latents"].dtype)
        return tensors

    from eadnet.testing import BoxFaceProcessor

    pipe.register_modules(face_processor=BoxFaceProcessor())
    try:
        out = run(pipe, cache_interval=2, callback_on_step_end=callback)
    finally:
        hook.remove()
    assert seen == {"unet": torch.bfloat16, "latents": torch.float32}
    assert np.isfinite(out.frames).all() and out.frames.shape == (25, 60, 70, 3)
