"""DeepCache in the U-Net and the pipeline: a cached step on the same input equals the full pass, the cache is
refused for another batch layout and reset at every window, and a cached run stays close to the uncached one; with
guidance reuse a cached step runs the conditional branch alone and adds the guidance term of the last full pass."""

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
        assert not cache.usable(3, 4)
        assert not cache.usable(1, 8) and not cache.usable(2, 2)  # another window length
        torch.testing.assert_close(unet(sample, 10, audio, deep_cache=cache).sample, unet(sample, 10, audio).sample)
        assert (cache.full_calls, cache.cached_calls) == (2, 0)
        cache.reset()
        cache.step(1)
        assert cache.feature is None and not cache.usable(3, 4)
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
    options.setdefault("audio_guidance_scale", 2.0)
    return pipe(image=portrait, audio=audio, sample_rate=SR, num_inference_steps=6, output_type="np",
                generator=torch.manual_seed(0), close_mouth_in_silence=False, window_size=8, window_overlap=2,
                **options)  # fmt: skip


def test_a_cached_run_stays_close_to_the_uncached_one_and_resets_at_every_window(pipe, monkeypatch):
    uncached = run(pipe).frames
    np.testing.assert_array_equal(run(pipe, cache_interval=1).frames, uncached)
    calls = []
    forward = pipe.unet.forward

    def counting(*args, deep_cache=None, **kwargs):
        if deep_cache is not None:
            calls.append(deep_cache.usable(args[0].shape[0], args[0].shape[2]))
        return forward(*args, deep_cache=deep_cache, **kwargs)

    monkeypatch.setattr(pipe.unet, "forward", counting)
    cached = run(pipe, cache_interval=3).frames
    monkeypatch.undo()
    # 25 frames in windows of 8 overlapping by 2: 4 windows x 6 steps; full at steps 0 and 3 of every window
    assert calls == [False, True, True] * 8
    assert not np.array_equal(cached, uncached)
    psnr = 10 * np.log10(1.0 / np.mean((cached - uncached) ** 2))
    assert psnr > 25, psnr


def test_a_smaller_batch_reuses_the_leading_samples_of_the_kept_feature(unet):
    """The conditional branch alone (batch 1) on a feature kept by a batch of three branches: the same as a cached
    step of the whole batch, first sample."""
    sample, audio = inputs(unet, batch=3)
    cache = DeepCache(interval=3)
    with torch.no_grad():
        cache.step(0)
        unet(sample, 40, audio, deep_cache=cache)
        cache.step(1)
        moved = sample + 0.1
        whole = unet(moved, 40, audio, deep_cache=cache).sample
        assert cache.usable(1, 4) and cache.usable(2, 4)
        first = unet(moved[:1], 40, audio[:1], deep_cache=cache).sample
    assert (cache.full_calls, cache.cached_calls) == (1, 2)
    torch.testing.assert_close(first, whole[:1], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def text_pipe():
    """A tiny pipeline whose emotion-text attention is not zero (as if trained), so text guidance changes frames."""
    components = tiny_components(seed=0, face_processor=BoxFaceProcessor())
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in components["unet"].named_parameters():
            if "attn_text.to_out" in name:
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    pipeline = EADNetPipeline(**components)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def test_text_guidance_reuse_skips_the_text_branch_on_cached_steps(text_pipe, monkeypatch):
    """Audio and text guidance on: three branches in the full passes; with the text-guidance reuse the cached steps
    run the conditional and null-audio branches (on the kept feature's leading rows) and add the kept text term."""
    pipe = text_pipe
    guided = {"emotion": "happy", "text_guidance_scale": 2.0}
    uncached = run(pipe, **guided).frames
    plain = run(pipe, cache_interval=3, **guided).frames
    batches = []
    forward = pipe.unet.forward

    def recording(*args, deep_cache=None, **kwargs):
        batch, frames = args[0].shape[0], args[0].shape[2]
        batches.append((batch, deep_cache is not None and deep_cache.usable(batch, frames)))
        return forward(*args, deep_cache=deep_cache, **kwargs)

    monkeypatch.setattr(pipe.unet, "forward", recording)
    reused = run(pipe, cache_interval=3, cache_text_guidance=True, **guided).frames
    monkeypatch.undo()
    # 4 windows x 6 steps: full at steps 0 and 3 (3 branches), the audio branches alone between (2)
    assert batches == [(3, False), (2, True), (2, True)] * 8
    assert not np.array_equal(reused, plain)  # the text term really is the kept one
    psnr = 10 * np.log10(1.0 / np.mean((reused - uncached) ** 2))
    assert psnr > 25, psnr
    # without text guidance there is nothing to reuse: the same frames as plain caching
    no_text = {"cache_interval": 3, "emotion": "happy", "text_guidance_scale": 1.0}
    np.testing.assert_array_equal(
        run(pipe, cache_text_guidance=True, **no_text).frames, run(pipe, cache_text_guidance=False, **no_text).frames
    )
    with pytest.raises(ValueError, match="cache_text_guidance"):
        GenerationSettings.from_options(cache_text_guidance="yes")
    with pytest.raises(ValueError, match="reuse_text_guidance"):
        DeepCache(reuse_text_guidance=1)


@pytest.mark.parametrize(
    ("pipe_name", "options", "graphs"),
    [
        ("pipe", {"cache_interval": 1}, 1),
        ("pipe", {"cache_interval": 3}, 2),
        (
            "text_pipe",
            {"cache_interval": 3, "cache_text_guidance": True, "emotion": "happy", "text_guidance_scale": 2.0},
            2,
        ),
    ],
)
def test_a_compiled_unet_traces_one_graph_per_kind_of_step_and_gives_the_same_frames(
    pipe_name, options, graphs, request
):
    """torch.compile (`--compile`): dynamo traces the whole U-Net as one graph (no break: the text mask's value check
    is eager-only) for the full step and for the cached step once each, whatever the step, the window or the cache's
    counts (a Python int the U-Net bumped would be a guard, and a recompilation per call).
    Dynamo alone (a counting backend that runs the traced graph eagerly) keeps this fast; inductor is the slow test
    in tests/test_generate.py."""
    from torch._dynamo.testing import CompileCounter

    pipeline = request.getfixturevalue(pipe_name)
    eager = run(pipeline, **options).frames
    unet = pipeline.unet
    counter = CompileCounter()
    torch._dynamo.reset()
    pipeline.unet = torch.compile(unet, backend=counter, fullgraph=True)  # no graph break
    try:
        compiled = run(pipeline, **options).frames
    finally:
        pipeline.unet = unet
        torch._dynamo.reset()
    assert counter.frame_count == graphs  # 4 windows x 6 steps, one trace per kind of step
    np.testing.assert_array_equal(compiled, eager)


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
