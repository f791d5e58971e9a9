"""Cost of the EAD-Net denoiser, of STDA against full spatio-temporal attention, and of the VAE decode per chunk.

FLOPs are counted with ``torch.utils.flop_counter`` on the meta device (no memory, no time), wall time on a
real forward. Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA; on CPU each case runs in a fresh
process and reports its resident-set high-water mark above the resident size just before the forward.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import sys
import time
from dataclasses import asdict, dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from eadnet.models.strip_attention import FullSpatioTemporalAttention, StripAttention3D
from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel

EAD_SWITCHES = ("use_stda", "use_tfrm", "use_text_attention")
SLOW_CASE_SECONDS = 2.0


@dataclass
class UNetCost:
    config: str
    ead: bool
    params_m: float
    tflops: float
    seconds: float | None


@dataclass
class VAEDecodeCost:
    resolution: int
    chunk: int
    dtype: str
    seconds_per_frame: float
    peak_mib: float  # above the resident/allocated size with the VAE loaded

    @property
    def peak_mib_per_frame(self) -> float:
        return self.peak_mib / self.chunk


@dataclass
class AttentionCost:
    kind: str
    frames: int
    gflops: float
    seconds: float
    peak_mib: float


def _unet_inputs(model: EADUNet3DModel, frames: int, latent_size: int, text_tokens: int, device, dtype):
    config = model.config
    sample = torch.randn(1, config.in_channels, frames, latent_size, latent_size, device=device, dtype=dtype)
    audio = torch.randn(1, frames, 50, config.cross_attention_dim, device=device, dtype=dtype)
    text = torch.randn(1, text_tokens, config.text_embed_dim, device=device, dtype=dtype)
    return sample, audio, text


def count_unet_flops(config_name: str, ead: bool, frames: int = 16, latent_size: int = 32, text_tokens: int = 77):
    """(parameters in millions, FLOPs) of one forward, counted on the meta device."""
    with torch.device("meta"):
        model = EADUNet3DModel.from_named_config(config_name, **dict.fromkeys(EAD_SWITCHES, ead))
        sample, audio, text = _unet_inputs(model, frames, latent_size, text_tokens, "meta", torch.float32)
    with FlopCounterMode(display=False) as counter:
        model(sample, 999, audio, text if ead else None)
    return sum(p.numel() for p in model.parameters()) / 1e6, counter.get_total_flops()


def time_unet_forward(
    config_name: str,
    ead: bool,
    frames: int = 16,
    latent_size: int = 32,
    text_tokens: int = 77,
    repeats: int = 1,
    device: str = "cpu",
    dtype=torch.float32,
    compile: bool = False,
) -> float:
    """Median wall time in seconds of ``repeats`` forwards, after one warm-up forward (which compiles the U-Net
    with ``compile``, as ``eadnet generate --compile`` does)."""
    model = EADUNet3DModel.from_named_config(config_name, **dict.fromkeys(EAD_SWITCHES, ead))
    model = model.to(device).eval()
    if dtype != torch.float32:
        model = model.to(dtype)
    if compile:
        model = torch.compile(model)
    sample, audio, text = _unet_inputs(model, frames, latent_size, text_tokens, device, dtype)
    text = text if ead else None
    times = []
    with torch.no_grad():
        model(sample, 999, audio, text)
        for _ in range(repeats):
            _synchronize(device)
            start = time.perf_counter()
            model(sample, 999, audio, text)
            _synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def unet_costs(
    config_names=("base", "small"),
    frames: int = 16,
    latent_size: int = 32,
    measure_time: bool = True,
    repeats: int = 1,
    device: str = "cpu",
    dtype=torch.float32,
    compile: bool = False,
) -> list[UNetCost]:
    results = []
    for name in config_names:
        if name not in UNET_CONFIGS:
            raise ValueError(f"config_names: unknown config {name!r}; known: {sorted(UNET_CONFIGS)}")
        for ead in (False, True):
            params, flops = count_unet_flops(name, ead, frames, latent_size)
            seconds = (
                time_unet_forward(
                    name, ead, frames, latent_size, repeats=repeats, device=device, dtype=dtype, compile=compile
                )
                if measure_time
                else None
            )
            results.append(UNetCost(name, ead, params, flops / 1e12, seconds))
    return results


@dataclass
class CacheCost:
    config: str
    depth: int
    full_tflops: float
    cached_tflops: float
    full_seconds: float | None
    cached_seconds: float | None

    def step_ratio(self, interval: int) -> float:
        """Average cost of a step without caching over one with a full pass every ``interval`` steps (by time when
        measured, else by FLOPs)."""
        full, cached = (
            (self.full_seconds, self.cached_seconds)
            if self.full_seconds is not None
            else (self.full_tflops, self.cached_tflops)
        )
        return interval * full / (full + (interval - 1) * cached)


def deep_cache_costs(
    config_names=("base", "small"),
    frames: int = 16,
    latent_size: int = 32,
    depths=(1,),
    measure_time: bool = True,
    repeats: int = 1,
    device: str = "cpu",
    dtype=torch.float32,
    compile: bool = False,
) -> list[CacheCost]:
    """FLOPs and time of a full U-Net step and of a DeepCache step (the shallow branch on a kept deep feature) for
    each config and shallow depth (:class:`~eadnet.models.feature_cache.DeepCache`), EAD modules on; with
    ``compile`` the timed U-Net is ``torch.compile``-d (both kinds of step compiled in the warm-up)."""
    from eadnet.models.feature_cache import DeepCache

    results = []
    for name in config_names:
        for depth in depths:
            with torch.device("meta"):
                model = EADUNet3DModel.from_named_config(name)
                sample, audio, text = _unet_inputs(model, frames, latent_size, 77, "meta", torch.float32)
            cache = DeepCache(interval=2, depth=depth)
            counts = []
            for step in (0, 1):
                cache.step(step)
                with FlopCounterMode(display=False) as counter:
                    model(sample, 999, audio, text, deep_cache=cache)
                counts.append(counter.get_total_flops() / 1e12)
            seconds = [None, None]
            if measure_time:
                model = EADUNet3DModel.from_named_config(name).to(device=device, dtype=dtype).eval()
                sample, audio, text = _unet_inputs(model, frames, latent_size, 77, device, dtype)
                if compile:
                    model = torch.compile(model)
                cache = DeepCache(interval=2, depth=depth)
                with torch.no_grad():
                    for step in (1, 0):  # warm-up of both kinds of step; the full one keeps the deep feature
                        cache.step(step)
                        model(sample, 999, audio, text, deep_cache=cache)
                    for index, step in enumerate((0, 1)):
                        times = []
                        for _ in range(repeats):
                            cache.step(step)
                            _synchronize(device)
                            start = time.perf_counter()
                            model(sample, 999, audio, text, deep_cache=cache)
                            _synchronize(device)
                            times.append(time.perf_counter() - start)
                        seconds[index] = statistics.median(times)
            results.append(CacheCost(name, depth, counts[0], counts[1], seconds[0], seconds[1]))
    return results


def _build_attention(kind: str, channels: int):
    torch.manual_seed(0)
    return StripAttention3D(channels) if kind == "stda" else FullSpatioTemporalAttention(channels)


def _attention_case(kind: str, channels: int, frames: int, latent_size: int, repeats: int, device: str) -> dict:
    module = _build_attention(kind, channels).to(device).eval()
    with torch.device("meta"):
        meta_input = torch.empty(1, channels, frames, latent_size, latent_size)
    with FlopCounterMode(display=False) as counter:
        _build_attention(kind, channels).to("meta")(meta_input)
    x = torch.randn(1, channels, frames, latent_size, latent_size, device=device)
    times = []
    with torch.no_grad():
        baseline = _start_peak(device)
        # The first call is a warm-up (allocator, thread pool, kernel selection); a case whose first call takes
        # longer than SLOW_CASE_SECONDS is reported from that call alone to keep the benchmark short.
        for index in range(repeats + 1):
            _synchronize(device)
            start = time.perf_counter()
            module(x)
            _synchronize(device)
            times.append(time.perf_counter() - start)
            if index == 0 and times[0] > SLOW_CASE_SECONDS:
                break
        if len(times) > 1:
            times = times[1:]
        peak = _peak_since(device, baseline)
    return {
        "gflops": counter.get_total_flops() / 1e9,
        "seconds": statistics.median(times),
        "peak_mib": max(peak, 0) / 2**20,
    }


def _case_in_child(queue, case, args):
    queue.put(case(*args))


def _run_case(case, args: tuple, device: str) -> dict:
    """``case(*args)``: on CPU in a fresh process (so that its resident-set high-water mark is its own), else here."""
    if device != "cpu":
        return case(*args)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_case_in_child, args=(queue, case, args))
    process.start()
    measured = queue.get()
    process.join()
    return measured


def attention_costs(
    frames=(16, 32, 64),
    channels: int = 320,
    latent_size: int = 32,
    repeats: int = 3,
    device: str = "cpu",
    kinds=("stda", "full"),
) -> list[AttentionCost]:
    """STDA against full spatio-temporal attention of the same width, per clip length."""
    results = []
    for kind in kinds:
        for num_frames in frames:
            measured = _run_case(_attention_case, (kind, channels, num_frames, latent_size, repeats, device), device)
            results.append(AttentionCost(kind=kind, frames=num_frames, **measured))
    return results


def _start_peak(device: str) -> int:
    """Resets the peak-memory mark and returns the memory in use now (CUDA allocated, or CPU resident)."""
    if str(device).startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    _reset_peak_rss()
    return _current_rss_bytes()


def _peak_since(device: str, baseline: int) -> int:
    """Bytes of the peak above ``baseline`` since :func:`_start_peak`."""
    peak = torch.cuda.max_memory_allocated() if str(device).startswith("cuda") else _max_rss_bytes()
    return peak - baseline


def _synchronize(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:  # no procfs (macOS): fall back to the high-water mark so far
        return _max_rss_bytes()


def _reset_peak_rss() -> None:
    # Linux >= 4.0: writing 5 to clear_refs resets the VmHWM high-water mark, so the peak measured next
    # belongs to the forward alone and not to imports or model construction.
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _max_rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _vae_decode_case(resolution: int, chunk: int, device: str, dtype_name: str) -> dict:
    from diffusers import AutoencoderKL

    from eadnet.models.autoencoder import SD_VAE_ARCHITECTURE, vae_decode

    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    vae = AutoencoderKL(**SD_VAE_ARCHITECTURE).to(device=device).eval()
    if dtype != torch.float32:
        vae.to(dtype=dtype)
    vae.to(memory_format=torch.channels_last)
    latents = torch.randn(chunk, 4, resolution // 8, resolution // 8, device=device, dtype=dtype)
    with torch.no_grad():
        baseline = _start_peak(device)
        _synchronize(device)
        start = time.perf_counter()
        vae_decode(vae, latents, chunk)
        _synchronize(device)
        seconds = time.perf_counter() - start
        peak = _peak_since(device, baseline)
    return {"seconds_per_frame": seconds / chunk, "peak_mib": max(peak, 0) / 2**20}


def vae_decode_costs(
    resolution: int = 512, chunks=(1, 2, 4, 8), device: str = "cpu", dtype: str = "float32"
) -> list[VAEDecodeCost]:
    """Peak memory and time of decoding ``chunk`` frames at once with the Stable Diffusion VAE at ``resolution``
    (the pipeline's ``decode_chunk_size``), each case in a fresh process on CPU (its resident-set high-water mark)
    or from ``torch.cuda.max_memory_allocated`` on CUDA; one decode per case, no warm-up."""
    results = []
    for chunk in chunks:
        measured = _run_case(_vae_decode_case, (resolution, int(chunk), device, dtype), device)
        results.append(VAEDecodeCost(resolution=resolution, chunk=int(chunk), dtype=dtype, **measured))
    return results


def as_rows(results) -> list[dict]:
    return [asdict(result) for result in results]
