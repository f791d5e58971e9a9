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
from eadnet.settings import GenerationSettings, SamplingDefaults

if TYPE_CHECKING:
    from eadnet.hub.presets import Preset
    from eadnet.pipelines import EADNetPipeline

logger = logging.getLogger(__name__)

#: Identifies the JSON written by :func:`run_generate_bench` (``eadnet bench compare`` checks it).
SCHEMA = "eadnet-bench-generate/1"
#: Measured stages, in pipeline order; their sum is at most ``total_s``.
STAGES = ("face", "audio", "text", "encode", "denoise", "decode", "paste", "mux")
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


@dataclass
class _Inputs:
    portrait: np.ndarray  # uint8 (H, W, 3)
    speech: np.ndarray  # float32 mono (T,)
    sample_rate: int


@dataclass
class _LoadedModel:
    pipe: EADNetPipeline
    preset: Preset
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


def check_model(model: str) -> tuple[Preset, dict[str, Path] | None]:
    """``(preset, local_paths)`` of a preset name or model folder, with a clear error for a path that is missing."""
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
def _load_model(model: str, settings: GenerateBenchSettings) -> _LoadedModel:
    # lazy: `eadnet bench --help` and the report commands must not import diffusers and transformers
    from eadnet.pipelines import EADNetPipeline

    preset, local_paths = check_model(model)
    start = time.perf_counter()
    pipe = EADNetPipeline.from_preset(
        preset,
        device=settings.device,
        dtype=DTYPES[settings.dtype],
        local_paths=local_paths,
        models_dir=settings.models_dir,
    )
    pipe.set_progress_bar_config(disable=True)
    return _LoadedModel(pipe, preset, time.perf_counter() - start)


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
        "denoise_steps": report.total_steps,
        "peak_rss_mib": _max_rss_bytes() / 2**20,
        "rss_start_mib": rss_start / 2**20,
        "peak_rss_method": rss_method,
        "cuda_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.startswith("cuda") else None,
    }


def measure_case(
    loaded: _LoadedModel,
    inputs: _Inputs,
    model: str,
    duration: float,
    steps: int | None,
    settings: GenerateBenchSettings,
) -> dict:
    """Warm-up runs, then ``settings.repeats`` timed runs of one (model, duration, steps) case → one result row.

    The row reports the run with the median total (the lower median for an even count), so its stages add up; the
    totals of all timed runs are in ``total_s_all``. Steps and guidance left unset are the model's defaults.
    """
    preset = loaded.preset
    # On CUDA every stage boundary waits for the device, so asynchronous kernels are charged to their stage.
    generation = loaded.pipe.resolve_settings(
        num_inference_steps=steps,
        audio_guidance_scale=settings.audio_guidance,
        text_guidance_scale=settings.text_guidance,
        cache_interval=settings.cache_interval,
        cache_text_guidance=settings.cache_text_guidance,
        fps=settings.fps,
        synchronize_timings=settings.device.startswith("cuda"),
    )
    steps = generation.sampling.num_inference_steps
    audio_guidance = generation.sampling.audio_guidance_scale
    text_guidance = generation.sampling.text_guidance_scale
    speech = tile_speech(inputs.speech, inputs.sample_rate, duration)
    runs = []
    with tempfile.TemporaryDirectory(prefix="eadnet-bench-") as directory:
        output = Path(directory) / "bench.mp4"
        for index in range(settings.warmup + settings.repeats):
            run = _generate_once(loaded, inputs, speech, generation, settings, output)
            warm = index < settings.warmup
            logger.info(
                "%s, %g s, %d steps: %s run %.2f s",
                model,
                duration,
                steps,
                "warm-up" if warm else "timed",
                run["total_s"],
            )
            if not warm:
                runs.append(run)
    totals = [run["total_s"] for run in runs]
    chosen = runs[totals.index(statistics.median_low(totals))]
    stages = chosen["stages_s"]
    frames = chosen["frames"]
    return {
        "model": model,
        "model_name": preset.name,
        "resolution": int(loaded.pipe.crop_size),
        "duration_s": duration,
        "frames": frames,
        "steps": steps,
        "windows": chosen["denoise_steps"] // steps,
        "denoise_steps": chosen["denoise_steps"],
        "audio_guidance": audio_guidance,
        "text_guidance": text_guidance,
        "cache_interval": generation.sampling.cache_interval,
        "cache_text_guidance": generation.sampling.cache_text_guidance,
        "device": settings.device,
        "dtype": settings.dtype,
        "load_s": loaded.load_seconds,
        "stages_s": stages,
        "denoise_per_step_s": stages["denoise"] / max(chosen["denoise_steps"], 1),
        "other_s": max(chosen["total_s"] - sum(stages.values()), 0.0),
        "total_s": chosen["total_s"],
        "total_s_all": totals,
        "seconds_per_frame": chosen["total_s"] / max(frames, 1),
        "fps": frames / chosen["total_s"],
        "peak_rss_mib": chosen["peak_rss_mib"],
        "rss_start_mib": chosen["rss_start_mib"],
        "peak_rss_method": chosen["peak_rss_method"],
        "cuda_peak_mib": chosen["cuda_peak_mib"],
        "isolated": settings.isolate,
    }


def _measure_cases_in_process(
    model: str, cases: list[tuple[float, int | None]], settings: GenerateBenchSettings, inputs: _Inputs
) -> Iterable[dict]:
    loaded = _load_model(model, settings)
    try:
        for duration, steps in cases:
            yield measure_case(loaded, inputs, model, duration, steps, settings)
    finally:
        del loaded
        gc.collect()
        if settings.device.startswith("cuda"):
            torch.cuda.empty_cache()


def _case_in_child(connection, model: str, duration: float, steps: int | None, settings: dict) -> None:
    """Entry point of an isolated measurement (runs in a ``spawn`` child): sends the row or the error back."""
    try:
        settings = GenerateBenchSettings(**settings)
        if settings.threads:
            torch.set_num_threads(settings.threads)
        loaded = _load_model(model, settings)
        connection.send(("row", measure_case(loaded, _load_inputs(settings), model, duration, steps, settings)))
    except Exception as error:  # reported by the parent, which has the context
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


def _measure_case_isolated(model: str, duration: float, steps: int | None, settings: GenerateBenchSettings) -> dict:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_case_in_child,
        args=(sender, model, duration, steps, asdict(settings)),
        name=f"eadnet-bench-{duration:g}s",
    )
    process.start()
    sender.close()
    try:
        kind, payload = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"the benchmark process for {model!r} at {duration:g} s ended without a result (exit code "
            f"{process.exitcode}; out of memory?)"
        ) from None
    finally:
        receiver.close()
    process.join()
    if kind == "error":
        raise RuntimeError(f"{model!r} at {duration:g} s: {payload}")
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
    """What makes two rows comparable across machines: (model name, resolution, duration, steps)."""
    return row["model_name"], int(row["resolution"]), round(float(row["duration_s"]), 3), int(row["steps"])


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
def plan_resolutions(preset: Preset, requested: list[int] | None) -> tuple[int, list[str]]:
    """The resolution a model is measured at, and notes on requested resolutions it cannot run at.

    Every EAD-Net model works at the one face-crop size its preset (or model folder) fixes: its U-Net and face mask
    are made for it, so running it at another size would time a model nobody uses. The model is measured at its own
    resolution whatever is requested, and each other requested size is noted as not run.
    """
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
) -> dict:
    """Measures every (model, steps, duration) case and returns the report written by ``--json``.

    Args:
        models (`list[str]`): Preset names or model folders.
        durations (`list[float]`): Speech lengths in seconds (the speech repeated or cut to each).
        settings (`GenerateBenchSettings`): What every case shares.
        steps (`list[int]`, *optional*): Denoising step counts; defaults to each model's preset default.
        resolutions (`list[int]`, *optional*): Requested crop sizes; see :func:`plan_resolutions`.
        on_row (`Callable[[dict], None]`, *optional*): Called with each row as soon as it is measured.

    Returns:
        `dict`: ``{"schema", "created", "machine", "settings", "rows", "fits", "notes"}`` (see ``docs/benchmarks.md``).

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
    presets = {model: check_model(model)[0] for model in dict.fromkeys(models)}
    notes = [note for preset in presets.values() for note in plan_resolutions(preset, resolutions)[1]]

    previous_threads = torch.get_num_threads()
    try:
        if settings.threads:
            torch.set_num_threads(settings.threads)
        # Children of --isolate start with torch's default thread count: give them this process's.
        settings = replace(settings, device=device, threads=torch.get_num_threads())
        machine = machine_info(device)
        inputs = _load_inputs(settings)
        rows = []
        for model in presets:
            cases = [(duration, step) for step in (steps or [None]) for duration in durations]
            if settings.isolate:
                measured = (_measure_case_isolated(model, duration, step, settings) for duration, step in cases)
            else:
                measured = _measure_cases_in_process(model, cases, settings, inputs)
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
            "portrait_size": list(inputs.portrait.shape[:2]),
            "sample_rate": inputs.sample_rate,
        },
        "rows": rows,
        "fits": fit_rows(rows),
        "notes": notes,
    }
