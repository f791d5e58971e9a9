"""End-to-end cost of talking-head generation: stage timings, time per denoising step, frames per second and peak
memory, per model, clip length and step count, with a description of the machine so that results from two machines
can be compared.

One measured run is what ``eadnet generate`` does after loading the model: the portrait and the speech (in memory)
go through :func:`~eadnet.pipelines.write_talking_video`, which streams the windows into an H.264 + AAC mp4.
Stages (seconds), from the run's :class:`~eadnet.pipelines.GenerationReport`:

- ``face``, ``audio``, ``text``, ``encode``, ``denoise``, ``decode``, ``paste``: the pipeline's own stage timings
  (``text`` is the pipeline's ``"emotion"`` stage: emotion description → text tokens; ``encode`` is the VAE encoding
  of the reference crops);
- ``mux``: encoding the frames and muxing them with the audio into the mp4;
- ``other``: the rest of the total (audio slicing, scheduler set-up, Python between stages).

The stages are disjoint parts of ``total_s``, so their sum never exceeds it. On CUDA every stage is bracketed by a
device synchronisation so that asynchronous kernels are charged to the stage that launched them.

Peak memory is measured per run: on Linux the resident-set high-water mark is reset before each run
(``/proc/self/clear_refs``), elsewhere it is the process's lifetime peak (``peak_rss_method`` says which). With
``isolate=True`` every (model, steps, duration) case runs in a fresh ``spawn`` child process, so that the peak is
not raised by models loaded or runs made earlier. On CUDA ``torch.cuda.max_memory_allocated`` is reset per run too.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import math
import multiprocessing
import os
import platform
import socket
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

import eadnet
from eadnet.assets import example_portrait_path, example_speech_path
from eadnet.benchmarks.model_bench import _current_rss_bytes, _max_rss_bytes
from eadnet.hub.local import resolve_model
from eadnet.hub.presets import list_presets
from eadnet.io import load_audio, load_image
from eadnet.pipelines.engines import MESH_MODEL_NAME, is_mesh_model
from eadnet.settings import GenerationSettings, SamplingDefaults

if TYPE_CHECKING:
    from eadnet.hub.presets import Preset
    from eadnet.pipelines import EADNetPipeline
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

logger = logging.getLogger(__name__)

#: Identifies the JSON written by :func:`run_generate_bench` (``eadnet bench compare`` checks it).
SCHEMA = "eadnet-bench-generate/1"
#: Measured stages, in pipeline order; their sum is at most ``total_s``. ``render`` is the eadnet-mesh engine's (the
#: warp that moves the face); ``encode``, ``denoise`` and ``decode`` are the diffusion engine's.
STAGES = ("face", "audio", "text", "encode", "denoise", "decode", "render", "paste", "mux")
# Report names that differ from the names the pipeline times its stages under.
_PIPELINE_STAGE_NAMES = {"text": "emotion"}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# Silence between repetitions of the example sentence when a clip is longer than it.
SPEECH_PAUSE_SECONDS = 0.3


@dataclass(frozen=True)
class GenerateBenchSettings:
    """What every measured case shares.

    Args:
        device (`str`, *optional*, defaults to `"cpu"`): ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (resolved, not
            ``"auto"``; see :func:`resolve_device`).
        dtype (`str`, *optional*, defaults to `"float32"`): ``"float32"``, ``"float16"`` or ``"bfloat16"``.
        audio_guidance (`float`, *optional*): Audio guidance scale; defaults to each model's preset default.
        text_guidance (`float`, *optional*): Emotion-text guidance scale; defaults to each model's preset default.
        emotion (`str`, *optional*, defaults to `"happy"`): Emotion label spec (so the text stage does real work);
            `None` generates without an emotion.
        fps (`float`, *optional*, defaults to 25): Output frame rate.
        warmup (`int`, *optional*, defaults to 1): Untimed runs before the timed ones, per case.
        repeats (`int`, *optional*, defaults to 1): Timed runs per case; the run with the median total is reported.
        seed (`int`, *optional*, defaults to 0): Random seed of every run.
        isolate (`bool`, *optional*, defaults to `False`): Measure every case in a fresh child process.
        threads (`int`, *optional*): ``torch.set_num_threads`` in every process; defaults to torch's default.
        portrait (`str`, *optional*): Portrait image; defaults to :func:`eadnet.assets.example_portrait_path`.
        speech (`str`, *optional*): Speech file, repeated or cut to each duration; defaults to
            :func:`eadnet.assets.example_speech_path`.
        models_dir (`str`, *optional*): Folder holding downloaded weights (``<dir>/<preset>/<component>``).
        cache_interval (`int`, *optional*): DeepCache interval (1 = off); defaults to each model's preset default.
        cache_text_guidance (`bool`, *optional*): Reuse of the text-guidance term on cached steps; defaults to the
            model's.
    """

    device: str = "cpu"
    dtype: str = "float32"
    audio_guidance: float | None = None
    text_guidance: float | None = None
    emotion: str | None = "happy"
    fps: float = 25.0
    warmup: int = 1
    repeats: int = 1
    seed: int = 0
    isolate: bool = False
    threads: int | None = None
    portrait: str | None = None
    speech: str | None = None
    models_dir: str | None = None
    cache_interval: int | None = None
    cache_text_guidance: bool | None = None

    def check(self) -> None:
        """Raises `ValueError` for settings no run could use."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.warmup < 0 or self.repeats < 1:
            raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={self.warmup}, repeats={self.repeats}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        # the generation settings check their own values (the same checks as every other front end)
        GenerationSettings(
            sampling=SamplingDefaults(
                audio_guidance_scale=self.audio_guidance,
                text_guidance_scale=self.text_guidance,
                cache_interval=self.cache_interval,
                cache_text_guidance=self.cache_text_guidance,
            ),
            fps=self.fps,
        )


#: Variant spec keys → :class:`Variant` fields (``eadnet bench generate --variants``).
_VARIANT_KEYS = {"cache": "cache_interval", "text": "cache_text_guidance", "dtype": "dtype", "compile": "compile",
                 "offload": "offload"}  # fmt: skip
#: Named variants: ``uncached`` is the diffusion path as it was before feature caching (today's figure beside the
#: cache's); ``preset`` is every model's own defaults.
VARIANT_ALIASES = {"preset": "", "uncached": "cache=1"}


@dataclass(frozen=True)
class Variant:
    """One way of running the same model, measured beside the others in one benchmark run.

    Args:
        name (`str`): The spec it was parsed from (``"preset"``, ``"uncached"``, ``"cache=4,text=on"``, ...).
        cache_interval (`int`, *optional*): DeepCache interval (1 = off); defaults to the run's (and then the
            model's) setting.
        cache_text_guidance (`bool`, *optional*): Reuse of the text-guidance term on cached steps.
        dtype (`str`, *optional*): The models' dtype; defaults to the run's.
        compile (`bool`, *optional*, defaults to `False`): ``torch.compile`` the U-Net (compiled in the warm-up runs:
            give ``warmup`` at least 1).
        offload (`bool`, *optional*, defaults to `False`): Keep only the active model on the GPU (diffusers' model
            CPU offload; CUDA only).
    """

    name: str = "preset"
    cache_interval: int | None = None
    cache_text_guidance: bool | None = None
    dtype: str | None = None
    compile: bool = False
    offload: bool = False

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """``"preset"``, ``"uncached"`` or comma-separated ``key=value`` items: ``cache=N``, ``text=on|off``,
        ``dtype=float32|float16|bfloat16``, ``compile=on|off``, ``offload=on|off``; `ValueError` for anything else."""
        name = spec.strip()
        fields = {}
        for item in filter(None, VARIANT_ALIASES.get(name, name).split(",")):
            key, _, value = item.partition("=")
            field_name = _VARIANT_KEYS.get(key.strip())
            if field_name is None or not value.strip():
                raise ValueError(
                    f"variant {spec!r}: {item!r} is not key=value with a key of {', '.join(_VARIANT_KEYS)} (or use "
                    f"{' / '.join(VARIANT_ALIASES)})"
                )
            if field_name in fields:
                raise ValueError(f"variant {spec!r} sets {key.strip()} twice")
            value = value.strip()
            if field_name == "cache_interval":
                if not value.isdigit() or int(value) < 1:
                    raise ValueError(f"variant {spec!r}: cache must be a whole number >= 1 (1 = off), got {value!r}")
                fields[field_name] = int(value)
            elif field_name == "dtype":
                if value not in DTYPES:
                    raise ValueError(f"variant {spec!r}: dtype must be one of {', '.join(DTYPES)}, got {value!r}")
                fields[field_name] = value
            elif value in ("on", "off"):
                fields[field_name] = value == "on"
            else:
                raise ValueError(f"variant {spec!r}: {key.strip()} must be on or off, got {value!r}")
        return cls(name=name, **fields)

    @property
    def defaults_only(self) -> bool:
        """Whether it changes nothing (the only variant the eadnet-mesh engine, which has none of these options,
        runs)."""
        return self == Variant(name=self.name)

    def load_key(self, dtype: str) -> tuple:
        """Variants with the same key share one loaded pipeline (the cache settings are per call)."""
        return self.dtype or dtype, self.compile, self.offload


@dataclass
class _Inputs:
    portrait: np.ndarray  # uint8 (H, W, 3)
    speech: np.ndarray  # float32 mono (T,)
    sample_rate: int


@dataclass
class _LoadedModel:
    pipe: EADNetPipeline | EADNetMeshPipeline
    preset: Preset | None  # None: the eadnet-mesh engine
    load_seconds: float


# ------------------------------------------------------------------------------------------------------ settings
def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a CUDA device is available, else ``"cpu"``; other names are checked."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cpu" and not (device == "cuda" or device.startswith("cuda:")):
        raise ValueError(f"device must be cpu, cuda, cuda:N or auto, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device}: no CUDA device is available here (torch {torch.__version__}); use cpu")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``"auto"`` → ``"float16"`` on CUDA, ``"float32"`` elsewhere (bf16 on a CPU is many times slower)."""
    if dtype == "auto":
        return "float16" if device.startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be auto, {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


def check_model(model: str) -> tuple[Preset | None, dict[str, Path] | None]:
    """``(preset, local_paths)`` of a preset name or model folder, with a clear error for a path that is missing;
    ``(None, None)`` for the eadnet-mesh engine."""
    if is_mesh_model(model):
        return None, None
    looks_like_path = os.sep in model or model.startswith((".", "~")) or (os.altsep and os.altsep in model)
    if looks_like_path and not Path(model).expanduser().exists():
        raise FileNotFoundError(
            f"model {model!r}: no such folder; give a preset name "
            f"({', '.join(list_presets())}) or an EAD-Net model folder"
        )
    return resolve_model(Path(model).expanduser() if looks_like_path else model)


# --------------------------------------------------------------------------------------------------- the machine
def machine_info(device: str = "cpu") -> dict:
    """What the numbers depend on: CPU, cores, torch threads, library versions, CUDA device, load.

    The host name is not recorded; ``host_id`` is a short hash of it, so that two result files can be recognised as
    coming from the same machine.
    """
    # lazy: read for their versions; the parent of isolated runs never loads a model otherwise
    import diffusers
    import transformers

    info = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "memory_total_gib": _memory_total_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "eadnet": eadnet.__version__,
        "cuda": None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "host_id": hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12],
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        properties = torch.cuda.get_device_properties(index)
        info["cuda"] = {
            "device": properties.name,
            "memory_gib": round(properties.total_memory / 2**30, 2),
            "capability": f"{properties.major}.{properties.minor}",
            "device_count": torch.cuda.device_count(),
            "cuda_version": torch.version.cuda,
        }
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 2)
    except OSError:
        pass
    return None


# -------------------------------------------------------------------------------------------------------- inputs
def tile_speech(speech: np.ndarray, sample_rate: int, duration: float) -> np.ndarray:
    """Mono speech repeated (with :data:`SPEECH_PAUSE_SECONDS` of silence between repetitions) or cut to exactly
    ``round(duration * sample_rate)`` samples."""
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    unit = np.concatenate([speech, np.zeros(int(SPEECH_PAUSE_SECONDS * sample_rate), dtype=speech.dtype)])
    length = max(1, round(duration * sample_rate))
    return np.tile(unit, math.ceil(length / len(unit)))[:length]


def _load_inputs(settings: GenerateBenchSettings) -> _Inputs:
    portrait = load_image(settings.portrait or example_portrait_path())
    waveform, sample_rate = load_audio(settings.speech or example_speech_path())
    return _Inputs(portrait, waveform.mean(axis=0).astype(np.float32), int(sample_rate))


# -------------------------------------------------------------------------------------------------- measurement
def _load_model(model: str, settings: GenerateBenchSettings, variant: Variant | None = None) -> _LoadedModel:
    # lazy: `eadnet bench --help` and the report commands must not import diffusers and transformers
    from eadnet.pipelines.engines import load_pipeline

    variant = variant or Variant()
    preset, _ = check_model(model)  # a missing folder: the clear error
    start = time.perf_counter()
    # the loading of `eadnet generate` (--dtype, --offload, --compile)
    pipe = load_pipeline(
        os.path.expanduser(model),
        device=settings.device,
        dtype=DTYPES[variant.dtype or settings.dtype],
        models_dir=settings.models_dir,
        offload=variant.offload,
        compile=variant.compile,
    )
    pipe.set_progress_bar_config(disable=True)
    return _LoadedModel(pipe, preset, time.perf_counter() - start)


def check_variants(variants: list[Variant], device: str) -> None:
    """`ValueError` for variants this device cannot run, or two with one name."""
    names = [variant.name for variant in variants]
    if len(set(names)) < len(names):
        raise ValueError(f"variants must differ, got {names}")
    for variant in variants:
        if variant.dtype == "float16" and not device.startswith("cuda"):
            raise ValueError(f"variant {variant.name!r}: float16 needs a GPU (--device cuda); on a CPU use float32")
        if variant.offload and not device.startswith("cuda"):
            raise ValueError(f"variant {variant.name!r}: offload moves models between the GPU and the CPU: needs CUDA")


def _reset_peak_memory(device: str) -> str:
    """Starts a new peak-memory window; returns how the CPU peak is measured."""
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    try:
        # Linux >= 4.0: writing 5 resets VmHWM to the current resident size.
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return "per-run"
    except OSError:
        return "process-lifetime"


def _generate_once(
    loaded: _LoadedModel,
    inputs: _Inputs,
    speech: np.ndarray,
    generation: GenerationSettings,
    settings: GenerateBenchSettings,
    output: Path,
) -> dict:
    """One generation written to ``output`` (the export path of ``eadnet generate``); stage seconds, frame count,
    denoising steps and peak memory."""
    from eadnet.pipelines import write_talking_video  # lazy: see _load_model

    device = settings.device
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    rss_method = _reset_peak_memory(device)
    rss_start = _current_rss_bytes()
    start = time.perf_counter()
    report = write_talking_video(
        loaded.pipe,
        output,
        image=inputs.portrait,
        audio=speech,
        sample_rate=inputs.sample_rate,
        emotion=settings.emotion,
        settings=generation,
        generator=torch.Generator(device="cpu").manual_seed(settings.seed),
        overwrite=True,
    )
    total = time.perf_counter() - start
    stages = {name: report.timings.get(_PIPELINE_STAGE_NAMES.get(name, name), 0.0) for name in STAGES}
    return {
        "stages_s": stages,
        "total_s": total,
        "frames": report.num_frames,
        "frame_size": list(inputs.portrait.shape[:2]),
        "denoise_steps": report.total_steps,
        "peak_rss_mib": _max_rss_bytes() / 2**20,
        "rss_start_mib": rss_start / 2**20,
        "peak_rss_method": rss_method,
        "cuda_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.startswith("cuda") else None,
    }


def _case_generation(
    loaded: _LoadedModel, steps: int | None, settings: GenerateBenchSettings, variant: Variant
) -> GenerationSettings:
    """The generation settings of one case: the variant's over the run's over the model's defaults."""
    return loaded.pipe.resolve_settings(
        num_inference_steps=steps,
        audio_guidance_scale=settings.audio_guidance,
        text_guidance_scale=settings.text_guidance,
        cache_interval=settings.cache_interval if variant.cache_interval is None else variant.cache_interval,
        cache_text_guidance=(
            settings.cache_text_guidance if variant.cache_text_guidance is None else variant.cache_text_guidance
        ),
        fps=settings.fps,
        # On CUDA every stage boundary waits for the device, so asynchronous kernels are charged to their stage.
        synchronize_timings=settings.device.startswith("cuda"),
    )


def _measured_runs(
    plans: list[tuple[Variant, _LoadedModel, GenerationSettings]],
    inputs: _Inputs,
    model: str,
    duration: float,
    settings: GenerateBenchSettings,
) -> dict[str, list[dict]]:
    """Warm-up runs, then ``settings.repeats`` timed rounds in which every plan runs once in turn (so that a machine
    that slows down for a while slows every variant alike) → the timed runs per variant name."""
    speech = tile_speech(inputs.speech, inputs.sample_rate, duration)
    runs = {variant.name: [] for variant, _, _ in plans}
    with tempfile.TemporaryDirectory(prefix="eadnet-bench-") as directory:
        output = Path(directory) / "bench.mp4"
        for index in range(settings.warmup + settings.repeats):
            warm = index < settings.warmup
            for variant, loaded, generation in plans:
                run = _generate_once(loaded, inputs, speech, generation, settings, output)
                logger.info(
                    "%s [%s], %g s: %s run %.2f s",
                    model,
                    variant.name,
                    duration,
                    "warm-up" if warm else "timed",
                    run["total_s"],
                )
                if not warm:
                    runs[variant.name].append(run)
    return runs


def _row(
    loaded: _LoadedModel,
    model: str,
    duration: float,
    generation: GenerationSettings,
    runs: list[dict],
    settings: GenerateBenchSettings,
    variant: Variant,
) -> dict:
    """One result row: the timed run with the median total (the lower median for an even count, so that its stages
    add up); the totals of all timed runs are in ``total_s_all``."""
    preset = loaded.preset
    totals = [run["total_s"] for run in runs]
    chosen = runs[totals.index(statistics.median_low(totals))]
    stages = chosen["stages_s"]
    frames = chosen["frames"]
    diffusion = preset is not None
    # the mesh engine samples nothing: no steps, and its progress steps are frames, not denoising steps
    steps = generation.sampling.num_inference_steps if diffusion else 0
    denoise_steps = chosen["denoise_steps"] if diffusion else 0
    return {
        "model": model,
        "model_name": preset.name if diffusion else MESH_MODEL_NAME,
        "engine": "diffusion" if diffusion else "mesh",
        "variant": variant.name,
        # the mesh engine works at the portrait's own size: its larger side
        "resolution": int(loaded.pipe.crop_size) if diffusion else int(max(chosen["frame_size"])),
        "duration_s": duration,
        "frames": frames,
        "steps": steps,
        "windows": denoise_steps // steps if steps else 0,
        "denoise_steps": denoise_steps,
        "audio_guidance": generation.sampling.audio_guidance_scale if diffusion else None,
        "text_guidance": generation.sampling.text_guidance_scale if diffusion else None,
        "cache_interval": generation.sampling.cache_interval if diffusion else None,
        "cache_text_guidance": generation.sampling.cache_text_guidance if diffusion else None,
        "device": settings.device,
        "dtype": (variant.dtype or settings.dtype) if diffusion else "float32",
        "compile": variant.compile,
        "offload": variant.offload,
        "load_s": loaded.load_seconds,
        "stages_s": stages,
        "denoise_per_step_s": stages["denoise"] / denoise_steps if denoise_steps else 0.0,
        "other_s": max(chosen["total_s"] - sum(stages.values()), 0.0),
        "total_s": chosen["total_s"],
        "total_s_all": totals,
        "denoise_s_all": [run["stages_s"]["denoise"] for run in runs],
        "seconds_per_frame": chosen["total_s"] / max(frames, 1),
        # seconds of work per second of video: below 1 is faster than real time
        "seconds_per_output_second": chosen["total_s"] * settings.fps / max(frames, 1),
        "fps": frames / chosen["total_s"],
        "peak_rss_mib": chosen["peak_rss_mib"],
        "rss_start_mib": chosen["rss_start_mib"],
        "peak_rss_method": chosen["peak_rss_method"],
        "cuda_peak_mib": chosen["cuda_peak_mib"],
        "isolated": settings.isolate,
    }


def measure_case(
    loaded: _LoadedModel,
    inputs: _Inputs,
    model: str,
    duration: float,
    steps: int | None,
    settings: GenerateBenchSettings,
    variant: Variant | None = None,
) -> dict:
    """Warm-up runs, then ``settings.repeats`` timed runs of one (model, duration, steps, variant) case → one result
    row (see :func:`_row`). Steps and guidance left unset are the model's defaults."""
    variant = variant or Variant()
    generation = _case_generation(loaded, steps, settings, variant)
    runs = _measured_runs([(variant, loaded, generation)], inputs, model, duration, settings)
    return _row(loaded, model, duration, generation, runs[variant.name], settings, variant)


def _measure_cases_in_process(
    model: str,
    cases: list[tuple[float, int | None]],
    settings: GenerateBenchSettings,
    inputs: _Inputs,
    variants: list[Variant],
) -> Iterable[dict]:
    """Every case under every variant in this process: one pipeline per distinct load (dtype, compile, offload), all
    loaded at once so that the variants of a case alternate (their peaks then include each other's weights: use
    ``isolate`` for memory)."""
    loaded: dict[tuple, _LoadedModel] = {}
    try:
        for variant in variants:
            loaded.setdefault(variant.load_key(settings.dtype), _load_model(model, settings, variant))
        for duration, steps in cases:
            plans = []
            for variant in variants:
                pipeline = loaded[variant.load_key(settings.dtype)]
                plans.append((variant, pipeline, _case_generation(pipeline, steps, settings, variant)))
            runs = _measured_runs(plans, inputs, model, duration, settings)
            for variant, pipeline, generation in plans:
                yield _row(pipeline, model, duration, generation, runs[variant.name], settings, variant)
    finally:
        loaded.clear()
        gc.collect()
        if settings.device.startswith("cuda"):
            torch.cuda.empty_cache()


def _case_in_child(
    connection, model: str, duration: float, steps: int | None, settings: dict, variant: dict | None = None
) -> None:
    """Entry point of an isolated measurement (runs in a ``spawn`` child): sends the row or the error back."""
    try:
        settings = GenerateBenchSettings(**settings)
        variant = Variant(**variant) if variant else Variant()
        if settings.threads:
            torch.set_num_threads(settings.threads)
        loaded = _load_model(model, settings, variant)
        row = measure_case(loaded, _load_inputs(settings), model, duration, steps, settings, variant)
        connection.send(("row", row))
    except Exception as error:  # reported by the parent, which has the context
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


def _measure_case_isolated(
    model: str, duration: float, steps: int | None, settings: GenerateBenchSettings, variant: Variant | None = None
) -> dict:
    variant = variant or Variant()
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_case_in_child,
        args=(sender, model, duration, steps, asdict(settings), asdict(variant)),
        name=f"eadnet-bench-{duration:g}s",
    )
    process.start()
    sender.close()
    what = f"{model!r} [{variant.name}] at {duration:g} s"
    try:
        kind, payload = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"the benchmark process for {what} ended without a result (exit code {process.exitcode}; out of memory?)"
        ) from None
    finally:
        receiver.close()
    process.join()
    if kind == "error":
        raise RuntimeError(f"{what}: {payload}")
    return payload


# ---------------------------------------------------------------------------------------------------- analysis
def linear_fit(frames: list[int], seconds: list[float]) -> dict | None:
    """Least-squares ``seconds = intercept_s + seconds_per_frame × frames``; `None` with fewer than two distinct
    frame counts."""
    if len(set(frames)) < 2:
        return None
    x, y = np.asarray(frames, dtype=np.float64), np.asarray(seconds, dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(((y - (intercept + slope * x)) ** 2).sum())
    spread = float(((y - y.mean()) ** 2).sum())
    return {
        "intercept_s": float(intercept),
        "seconds_per_frame": float(slope),
        "r2": 1.0 - residual / spread if spread > 0 else 1.0,
        "points": len(frames),
    }


def fit_rows(rows: list[dict]) -> list[dict]:
    """One linear fit of total time against frame count per (model, resolution, steps) with 2+ clip lengths."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["model"], row["model_name"], row["resolution"], row["steps"]), []).append(row)
    fits = []
    for (model, name, resolution, steps), members in groups.items():
        fit = linear_fit([row["frames"] for row in members], [row["total_s"] for row in members])
        if fit is not None:
            fits.append(
                {
                    "model": model,
                    "model_name": name,
                    "resolution": resolution,
                    "steps": steps,
                    **fit,
                    "frames": [row["frames"] for row in members],
                }
            )
    return fits


def row_key(row: dict) -> tuple:
    """What makes two rows comparable across machines: (model name, resolution, duration, steps, variant)."""
    return (
        row["model_name"],
        int(row["resolution"]),
        round(float(row["duration_s"]), 3),
        int(row["steps"]),
        row.get("variant", "preset"),  # files written before variants: every row is the preset's
    )


def _peak_mib(row: dict) -> float:
    return row["cuda_peak_mib"] if row["cuda_peak_mib"] is not None else row["peak_rss_mib"]


def _speedup(reference: list[float], variant: list[float], paired: bool) -> float | None:
    """Reference time / variant time: the median of the rounds' ratios when the runs were taken in alternating rounds
    (a machine's drift then cancels within each round), else the ratio of the medians."""
    if paired and len(reference) == len(variant) and all(value > 0 for value in variant):
        return statistics.median(a / b for a, b in zip(reference, variant, strict=True))
    return statistics.median(reference) / statistics.median(variant) if statistics.median(variant) > 0 else None


def variant_ratios(rows: list[dict], reference: str) -> list[dict]:
    """Each variant's row against the ``reference`` variant's row of the same (model, resolution, duration, steps):
    the two figures and the speed-ups (reference time / variant time: above 1 is faster; see :func:`_speedup`) of the
    total and of the denoising, and the ratio of the peak memory (variant / reference)."""
    references = {row_key(row)[:4]: row for row in rows if row["variant"] == reference}
    ratios = []
    for row in rows:
        base = references.get(row_key(row)[:4])
        if row["variant"] == reference or base is None:
            continue
        denoise = (base["stages_s"]["denoise"], row["stages_s"]["denoise"])
        paired = not (base["isolated"] or row["isolated"])
        ratios.append(
            {
                "model_name": row["model_name"],
                "resolution": row["resolution"],
                "duration_s": row["duration_s"],
                "steps": row["steps"],
                "reference": reference,
                "variant": row["variant"],
                "total_s": (base["total_s"], row["total_s"]),
                "speedup": _speedup(base["total_s_all"], row["total_s_all"], paired),
                "denoise_s": denoise,
                "denoise_speedup": _speedup(base["denoise_s_all"], row["denoise_s_all"], paired),
                "rounds_paired": paired and len(base["total_s_all"]) == len(row["total_s_all"]),
                "seconds_per_output_second": (base["seconds_per_output_second"], row["seconds_per_output_second"]),
                "peak_mib": (_peak_mib(base), _peak_mib(row)),
                "peak_ratio": _peak_mib(row) / _peak_mib(base),
            }
        )
    return ratios


def load_report(path: str | os.PathLike) -> dict:
    """Reads a JSON file written by ``eadnet bench generate --json``; `ValueError` for any other file."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from error
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ValueError(
            f"{path} is not an `eadnet bench generate --json` result (expected schema {SCHEMA!r}); "
            "re-run the benchmark with this version of eadnet"
        )
    return report


def compare_reports(first: dict, second: dict) -> dict:
    """Per-row ratios second / first of total time, fps and time per denoising step, for rows with the same
    :func:`row_key`; plus the geometric means and the keys found in only one of the two."""
    first_rows = {row_key(row): row for row in first["rows"]}
    second_rows = {row_key(row): row for row in second["rows"]}
    common = [key for key in first_rows if key in second_rows]
    rows = []
    for key in common:
        a, b = first_rows[key], second_rows[key]
        rows.append(
            {
                "key": key,
                "total_s": (a["total_s"], b["total_s"]),
                "fps": (a["fps"], b["fps"]),
                "total_ratio": b["total_s"] / a["total_s"],
                "fps_ratio": b["fps"] / a["fps"],
                "denoise_per_step_ratio": (
                    b["denoise_per_step_s"] / a["denoise_per_step_s"] if a["denoise_per_step_s"] > 0 else None
                ),
            }
        )

    def geometric_mean(values):
        values = [value for value in values if value]
        return math.exp(statistics.fmean(math.log(value) for value in values)) if values else None

    return {
        "rows": rows,
        "geomean_total_ratio": geometric_mean(row["total_ratio"] for row in rows),
        "geomean_fps_ratio": geometric_mean(row["fps_ratio"] for row in rows),
        "only_first": [key for key in first_rows if key not in second_rows],
        "only_second": [key for key in second_rows if key not in first_rows],
    }


# ------------------------------------------------------------------------------------------------------- driver
def plan_resolutions(preset: Preset | None, requested: list[int] | None) -> tuple[int | None, list[str]]:
    """The resolution a model is measured at, and notes on requested resolutions it cannot run at.

    Every EAD-Net model works at the one face-crop size its preset (or model folder) fixes: its U-Net and face mask
    are made for it, so running it at another size would time a model nobody uses. The model is measured at its own
    resolution whatever is requested, and each other requested size is noted as not run. The eadnet-mesh engine
    (``preset`` `None`) works on the portrait at its own size: `None`, and a note if sizes were requested.
    """
    if preset is None:
        notes = [f"{MESH_MODEL_NAME}: works at the portrait's own size; --resolutions do not apply"]
        return None, notes if requested else []
    own = int(preset.resolution)
    notes = [
        f"{preset.name}: crop resolution is fixed at {own} px by the model; {size} px not run"
        for size in dict.fromkeys(requested or [])
        if int(size) != own
    ]
    if requested and own not in requested:
        notes.append(f"{preset.name}: measured at its own {own} px instead")
    return own, notes


def run_generate_bench(
    models: list[str],
    durations: list[float],
    settings: GenerateBenchSettings,
    steps: list[int] | None = None,
    resolutions: list[int] | None = None,
    on_row: Callable[[dict], None] | None = None,
    variants: list[Variant] | None = None,
) -> dict:
    """Measures every (model, steps, duration, variant) case and returns the report written by ``--json``.

    Args:
        models (`list[str]`): Preset names or model folders.
        durations (`list[float]`): Speech lengths in seconds (the speech repeated or cut to each).
        settings (`GenerateBenchSettings`): What every case shares.
        steps (`list[int]`, *optional*): Denoising step counts; defaults to each model's preset default.
        resolutions (`list[int]`, *optional*): Requested crop sizes; see :func:`plan_resolutions`.
        on_row (`Callable[[dict], None]`, *optional*): Called with each row as soon as it is measured.
        variants (`list[Variant]`, *optional*): Ways of running each model, measured in alternating rounds; the
            first is the reference of ``ratios``. Defaults to one: the settings as given. The eadnet-mesh engine
            runs only variants that change nothing (it has no cache, dtype, compilation or offload).

    Returns:
        `dict`: ``{"schema", "created", "machine", "settings", "rows", "fits", "ratios", "notes"}`` (see
        ``docs/benchmarks.md``).

    Raises:
        `ValueError`, `FileNotFoundError`: an unknown model, a missing folder or input, impossible settings (all
            checked before anything is measured).
    """
    settings.check()
    if not models or not durations:
        raise ValueError("give at least one model and one duration")
    if any(not math.isfinite(d) or d <= 0 for d in durations):
        raise ValueError(f"durations must be positive numbers of seconds, got {durations}")
    if any(s < 1 for s in steps or []):
        raise ValueError(f"steps must be positive, got {steps}")
    if any(r < 1 for r in resolutions or []):
        raise ValueError(f"resolutions must be positive, got {resolutions}")
    for path in (settings.portrait, settings.speech):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"input file {path!r} does not exist")
    device = resolve_device(settings.device)
    variants = list(variants or [Variant()])
    check_variants(variants, device)
    presets = {model: check_model(model)[0] for model in dict.fromkeys(models)}
    notes = [note for preset in presets.values() for note in plan_resolutions(preset, resolutions)[1]]
    model_variants = {}
    for model, preset in presets.items():
        runnable = variants if preset is not None else [v for v in variants if v.defaults_only] or [Variant()]
        model_variants[model] = runnable
        skipped = [variant.name for variant in variants if variant not in runnable]
        if skipped:
            notes.append(f"{MESH_MODEL_NAME}: {', '.join(skipped)} not run (diffusion options only)")

    previous_threads = torch.get_num_threads()
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        # Children of --isolate start with torch's default thread count: give them this process's.
        settings = replace(settings, device=device, threads=torch.get_num_threads())
        machine = machine_info(device)
        inputs = _load_inputs(settings)
        rows = []
        for model, preset in presets.items():
            step_counts = (steps or [None]) if preset is not None else [None]  # the mesh engine takes no steps
            cases = [(duration, step) for step in step_counts for duration in durations]
            if settings.isolate:
                measured = (
                    _measure_case_isolated(model, duration, step, settings, variant)
                    for duration, step in cases
                    for variant in model_variants[model]
                )
            else:
                measured = _measure_cases_in_process(model, cases, settings, inputs, model_variants[model])
            for row in measured:
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    finally:
        torch.set_num_threads(previous_threads)
    if hasattr(os, "getloadavg"):
        machine["load_average_end"] = list(os.getloadavg())
    return {
        "schema": SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": {
            **asdict(settings),
            "models": list(models),
            "durations": list(durations),
            "steps": list(steps) if steps else None,
            "resolutions": list(resolutions) if resolutions else None,
            "variants": [asdict(variant) for variant in variants],
            "portrait_size": list(inputs.portrait.shape[:2]),
            "sample_rate": inputs.sample_rate,
        },
        "rows": rows,
        "fits": fit_rows(rows),
        "ratios": variant_ratios(rows, variants[0].name),
        "notes": notes,
    }
