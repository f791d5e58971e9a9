"""``eadnet bench``: numbers, never assertions.

- ``model``: FLOPs and time of the denoiser with EAD modules on and off, and STDA against full spatio-temporal
  attention;
- ``generate``: stage timings, time per denoising step, fps and peak memory of generation end to end, per model,
  clip length and step count, with a machine description (``--json``);
- ``compare``: per-row ratios between two ``generate --json`` results, e.g. from two machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eadnet.io import atomic_output, check_output_path
from eadnet.settings import on_off

# Targets from the model-core issue: what the printed numbers are compared against.
MAX_EAD_FLOP_OVERHEAD = 0.10
MAX_STDA_GROWTH_16_TO_64 = 4.5
MIN_STDA_SPEEDUP_AT_64 = 10.0

GENERATE_EPILOG = """examples:
  eadnet bench generate --durations 4 --json cpu.json          # eadnet-mini, 4 s of speech
  eadnet bench generate --models offline-demo ./my-model --durations 2 4 8 --steps 4 20 --repeats 3
  eadnet bench generate --device cuda --dtype float16 --isolate --json gpu.json
  eadnet bench compare cpu.json gpu.json                       # B / A per common row
  eadnet bench generate --models eadnet-mesh eadnet-mini --durations 4    # both engines in one table
  eadnet bench generate --variants uncached preset cache=4,text=off --repeats 3     # today's figure beside the cache's
  eadnet bench generate --device cuda --variants dtype=float32 dtype=float16 compile=on,dtype=float16 offload=on

Variants (--variants): 'preset' (the model's defaults), 'uncached' (cache=1: before feature caching), or
comma-separated key=value: cache=N, text=on|off (reuse the text-guidance term on cached steps),
dtype=float32|float16|bfloat16, compile=on|off (torch.compile the U-Net; compiled in the warm-up),
offload=on|off (CUDA). Each model runs every variant in turn per round; the first is the reference of the
speed-ups printed after the table. Memory ratios are meaningful with --isolate (in one process every loaded
variant's weights count in every peak).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks that print numbers")
    bench_sub = parser.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    model = bench_sub.add_parser("model", help="U-Net cost with EAD modules on/off; STDA vs full attention")
    model.add_argument("--configs", nargs="+", default=["base", "small"], help="named U-Net configs to measure")
    model.add_argument("--frames", type=int, default=16, help="frames per U-Net window")
    model.add_argument("--resolution", type=int, default=256, help="pixel resolution (latent = resolution / 8)")
    model.add_argument("--no-time", action="store_true", help="count U-Net FLOPs only, skip timed forwards")
    model.add_argument("--repeats", type=int, default=1, help="timed U-Net forwards per case (median)")
    model.add_argument("--stda-frames", type=int, nargs="+", default=[16, 32, 64], help="clip lengths for STDA")
    model.add_argument("--stda-channels", type=int, default=320, help="feature width for the attention comparison")
    model.add_argument("--stda-latent", type=int, default=32, help="latent height/width for the attention comparison")
    model.add_argument("--skip-attention", action="store_true", help="skip the STDA vs full attention part")
    model.add_argument(
        "--cache-depths", type=int, nargs="+", default=[1], help="DeepCache shallow depths to measure (default 1)"
    )
    model.add_argument(
        "--cache-intervals", type=int, nargs="+", default=[2, 3, 5], help="DeepCache intervals for the step ratios"
    )
    model.add_argument("--skip-cache", action="store_true", help="skip the DeepCache part")
    model.add_argument(
        "--vae-chunks",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="also measure the Stable Diffusion VAE decoding N frames at once (decode_chunk_size) at --resolution: "
        "peak memory and time per frame (slow on a CPU at 512 px)",
    )
    model.add_argument("--device")  # default: cuda if available, else cpu (decided in run_model_bench)
    model.add_argument(
        "--dtype",
        choices=["float32", "float16", "bfloat16"],
        default="float32",
        help="weights and inputs of the timed forwards (FLOPs are counted in float32; float16 needs a GPU)",
    )
    model.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the timed U-Nets (as `eadnet generate --compile`; the warm-up forward compiles)",
    )
    model.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    model.set_defaults(handler=run_model_bench)

    generate = bench_sub.add_parser(
        "generate",
        help="stage timings, fps and peak memory of talking-head generation",
        description="Time generation end to end on the shipped portrait and speech (the speech repeated or cut\n"
        "to each duration): per stage, per denoising step, frames per second, peak memory, and a linear\n"
        "fit of time against clip length. Warm-up runs are not timed; the median timed run is reported.",
        epilog=GENERATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    generate.add_argument(
        "--models",
        "--model",
        nargs="+",
        default=["eadnet-mini"],
        metavar="MODEL",
        help="eadnet-mesh (the geometry engine), diffusion weights presets and/or model folders (default: "
        "eadnet-mini, the bundled diffusion model; the mesh engine's quality figures are in "
        "scripts/benchmark_mesh_engine.py)",
    )
    generate.add_argument(
        "--resolutions",
        type=int,
        nargs="+",
        metavar="PX",
        help="face crop sizes; a model whose preset fixes its size (all of them today) runs at its "
        "own size only, and the others are noted as not run",
    )
    generate.add_argument(
        "--durations",
        type=float,
        nargs="+",
        default=[2.0, 4.0, 8.0],
        metavar="SECONDS",
        help="speech lengths (default: 2 4 8); two or more give a linear fit of time vs frames",
    )
    generate.add_argument(
        "--steps",
        type=int,
        nargs="+",
        metavar="N",
        help="denoising step counts (default: each model's preset default)",
    )
    generate.add_argument("--guidance", type=float, help="audio guidance scale (default: the preset's)")
    generate.add_argument("--text-guidance", type=float, help="emotion-text guidance scale (default: the preset's)")
    generate.add_argument(
        "--cache-interval",
        type=int,
        help="DeepCache: a full U-Net pass every N steps, 1 = off (default: the preset's); --variants measures "
        "several in one run",
    )
    generate.add_argument(
        "--cache-text-guidance",
        choices=["on", "off"],
        help="with caching: skip the emotion-text guidance branch on cached steps, reusing its term (default: the "
        "preset's)",
    )
    generate.add_argument(
        "--variants",
        nargs="+",
        metavar="SPEC",
        help="ways of running each diffusion model, measured in alternating rounds, the first the reference of the "
        "speed-ups: preset, uncached, or key=value[,key=value] with cache, text, dtype, compile, offload (see below)",
    )
    generate.add_argument("--emotion", default="happy", help="emotion label spec (default: happy); 'none' for none")
    generate.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: cuda if available)")
    generate.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "float16", "bfloat16"],
        help="model dtype (default auto: float16 on CUDA, float32 on CPU)",
    )
    generate.add_argument("--warmup", type=int, default=1, help="untimed runs per case before timing (default 1)")
    generate.add_argument("--repeats", type=int, default=1, help="timed runs per case; the median is reported")
    generate.add_argument(
        "--isolate", action="store_true", help="measure every case in a fresh process (peak memory of that case alone)"
    )
    generate.add_argument("--threads", type=int, help="torch CPU threads (default: torch's default)")
    generate.add_argument("--fps", type=float, default=25.0, help="output frame rate (default 25)")
    generate.add_argument("--image", type=Path, help="portrait (default: the shipped example)")
    generate.add_argument(
        "--audio", type=Path, help="speech, repeated or cut to each duration (default: the shipped example)"
    )
    generate.add_argument("--models-dir", type=Path, help="folder holding downloaded weights (<preset>/<component>)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--json", type=Path, help="also write the results (with a machine description) to this file")
    generate.set_defaults(handler=run_generate_bench)

    compare = bench_sub.add_parser(
        "compare",
        help="ratios between two `bench generate --json` results (e.g. two machines)",
        description="For rows with the same (model, resolution, duration, steps), print B / A of the total time "
        "and of frames per second: a total ratio below 1 (fps ratio above 1) means B is faster.",
    )
    compare.add_argument("first", type=Path, metavar="A.json")
    compare.add_argument("second", type=Path, metavar="B.json")
    compare.set_defaults(handler=run_compare)


def run_model_bench(args: argparse.Namespace) -> int:
    # lazy: keeps `eadnet --help` from importing torch and the U-Net (diffusers)
    import torch

    from eadnet.benchmarks.model_bench import as_rows, attention_costs, unet_costs

    device = args.device if args.device is not None else "cuda" if torch.cuda.is_available() else "cpu"
    if args.resolution % 8:
        raise ValueError(f"--resolution must be a multiple of 8, got {args.resolution}")
    latent = args.resolution // 8
    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[args.dtype]
    if dtype == torch.float16 and device == "cpu":
        raise ValueError("--dtype float16 needs a GPU; on a CPU time float32 (or bfloat16)")
    print(
        f"device={device} dtype={args.dtype} threads={torch.get_num_threads()} torch={torch.__version__}"
        f"{' compile=on' if args.compile else ''}"
    )
    print(
        f"\n(a) U-Net forward, batch 1, {args.frames} frames, {args.resolution} px ({latent}x{latent} latent), "
        "77 text tokens"
    )
    print(f"{'config':<8}{'EAD':<5}{'params (M)':>12}{'TFLOPs':>10}{'seconds':>10}")
    costs = unet_costs(
        args.configs, args.frames, latent, measure_time=not args.no_time, repeats=args.repeats, device=device,
        dtype=dtype, compile=args.compile,
    )  # fmt: skip
    for cost in costs:
        seconds = "-" if cost.seconds is None else f"{cost.seconds:.3f}"
        print(
            f"{cost.config:<8}{'on' if cost.ead else 'off':<5}{cost.params_m:>12.1f}{cost.tflops:>10.3f}{seconds:>10}"
        )
    for name in args.configs:
        off, on = (next(c for c in costs if c.config == name and c.ead == ead) for ead in (False, True))
        overhead = on.tflops / off.tflops - 1
        line = (
            f"{name}: EAD modules add {overhead:+.2%} FLOPs (target <= {MAX_EAD_FLOP_OVERHEAD:.0%}: "
            f"{'met' if overhead <= MAX_EAD_FLOP_OVERHEAD else 'NOT met'})"
        )
        if on.seconds is not None:
            line += f", time ratio on/off {on.seconds / off.seconds:.3f}"
        print(line)

    report = {
        "settings": {
            "device": device,
            "dtype": args.dtype,
            "compile": args.compile,
            "frames": args.frames,
            "resolution": args.resolution,
            "torch": torch.__version__,
        },  # fmt: skip
        "unet": as_rows(costs),
    }
    if not args.skip_attention:
        print(
            f"\n(b) STDA vs full spatio-temporal attention, width {args.stda_channels}, "
            f"{args.stda_latent}x{args.stda_latent} latent"
        )
        print(f"{'kind':<6}{'frames':>7}{'GFLOPs':>12}{'seconds':>10}{'peak MiB':>10}")
        attention = attention_costs(args.stda_frames, args.stda_channels, args.stda_latent, device=device)
        for cost in attention:
            print(f"{cost.kind:<6}{cost.frames:>7}{cost.gflops:>12.2f}{cost.seconds:>10.4f}{cost.peak_mib:>10.1f}")
        by_key = {(c.kind, c.frames): c for c in attention}
        first, last = min(args.stda_frames), max(args.stda_frames)
        for kind in ("stda", "full"):
            a, b = by_key[(kind, first)], by_key[(kind, last)]
            print(
                f"{kind}: F={last} / F={first}: time x{b.seconds / a.seconds:.2f}, "
                f"FLOPs x{b.gflops / a.gflops:.2f}, peak memory x{b.peak_mib / max(a.peak_mib, 1e-9):.2f}"
            )
        stda, full = by_key[("stda", last)], by_key[("full", last)]
        growth = stda.seconds / by_key[("stda", first)].seconds
        speedup = full.seconds / stda.seconds
        print(
            f"STDA time growth F={first}->{last}: x{growth:.2f} (target <= {MAX_STDA_GROWTH_16_TO_64}: "
            f"{'met' if growth <= MAX_STDA_GROWTH_16_TO_64 else 'NOT met'}); full/STDA time at F={last}: "
            f"x{speedup:.1f} (target >= {MIN_STDA_SPEEDUP_AT_64:.0f}: "
            f"{'met' if speedup >= MIN_STDA_SPEEDUP_AT_64 else 'NOT met'}), "
            f"memory x{full.peak_mib / max(stda.peak_mib, 1e-9):.1f}"
        )
        report["attention"] = as_rows(attention)
    if not args.skip_cache:
        from eadnet.benchmarks.model_bench import deep_cache_costs

        print(
            f"\n(c) DeepCache: a full U-Net step vs a cached step (shallow branch only), EAD modules on, "
            f"{args.frames} frames, {args.resolution} px"
        )
        caches = deep_cache_costs(
            args.configs, args.frames, latent, args.cache_depths, measure_time=not args.no_time, repeats=args.repeats,
            device=device, dtype=dtype, compile=args.compile,
        )  # fmt: skip
        header = "".join(f"{f'x{n} steps':>11}" for n in args.cache_intervals)
        print(f"{'config':<8}{'depth':>6}{'full GF':>10}{'cached GF':>11}{'full s':>9}{'cached s':>10}{header}")
        for cost in caches:
            full_s = "-" if cost.full_seconds is None else f"{cost.full_seconds:.3f}"
            cached_s = "-" if cost.cached_seconds is None else f"{cost.cached_seconds:.3f}"
            ratios = "".join(f"{cost.step_ratio(n):>11.2f}" for n in args.cache_intervals)
            print(
                f"{cost.config:<8}{cost.depth:>6}{cost.full_tflops * 1e3:>10.1f}{cost.cached_tflops * 1e3:>11.1f}"
                f"{full_s:>9}"
                f"{cached_s:>10}{ratios}"
            )
        print("x<N> steps: denoising speed-up with a full pass every N steps (by time when measured, else FLOPs)")
        report["deep_cache"] = as_rows(caches)
    if args.vae_chunks:
        from eadnet.benchmarks.model_bench import vae_decode_costs

        if min(args.vae_chunks) < 1:
            raise ValueError(f"--vae-chunks must be positive, got {args.vae_chunks}")
        print(
            f"\n(d) VAE decode (Stable Diffusion VAE, the LatentSync presets'), {args.resolution} px, {args.dtype}: "
            "peak memory above the loaded VAE"
        )
        print(f"{'chunk':>6}{'s/frame':>10}{'peak MiB':>10}{'MiB/frame':>11}")
        decodes = vae_decode_costs(args.resolution, args.vae_chunks, device=device, dtype=args.dtype)
        for cost in decodes:
            print(
                f"{cost.chunk:>6}{cost.seconds_per_frame:>10.3f}{cost.peak_mib:>10.0f}{cost.peak_mib_per_frame:>11.0f}"
            )
        report["vae_decode"] = as_rows(decodes)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


# Targets from the main-job issue.
MAX_SECONDS_4S_CLIP = 180.0
MAX_MEMORY_RATIO_60_TO_10 = 1.25


def _machine_line(machine: dict, settings: dict) -> str:
    cuda = machine.get("cuda")
    device = f"{cuda['device']} ({cuda['memory_gib']:.0f} GiB)" if cuda else "no CUDA"
    load = machine.get("load_average")
    load_text = f", load average {load[0]:.1f}" if load else ""
    return (
        f"{machine['cpu_model']}, {machine['cpu_count']} cores, torch {machine['torch']} "
        f"({settings['threads']} threads), {device}; measured on {settings['device']} {settings['dtype']}"
        f"{load_text}"
    )


def _short(value: float) -> str:
    """At most 7 characters, so that table cells stay apart."""
    if 0 < value < 0.001:
        return "<0.001"
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


_TABLE_COLUMNS = (
    "model",
    "variant",
    "px",
    "speech",
    "frames",
    "steps",
    "face",
    "audio",
    "text",
    "encode",
    "denoise",
    "s/step",
    "decode",
    "render",
    "paste",
    "mux",
    "other",
    "total",
    "s/frame",
    "s/out-s",
    "fps",
    "peak MiB",
)


def _table_header() -> str:
    return (
        f"{'model':<16}{'variant':<18}"
        + "".join(f"{name:>8}" for name in _TABLE_COLUMNS[2:-1])
        + f"{_TABLE_COLUMNS[-1]:>10}"
    )


def _table_row(row: dict) -> str:
    stages = row["stages_s"]
    cells = [
        row["resolution"],
        f"{row['duration_s']:g}",
        row["frames"],
        row["steps"],
        *(_short(stages[name]) for name in ("face", "audio", "text", "encode", "denoise")),
        _short(row["denoise_per_step_s"]),
        *(_short(stages[name]) for name in ("decode", "render", "paste", "mux")),
        _short(row["other_s"]),
        _short(row["total_s"]),
        _short(row["seconds_per_frame"]),
        _short(row["seconds_per_output_second"]),
        _short(row["fps"]),
        f"{(row['cuda_peak_mib'] if row['cuda_peak_mib'] is not None else row['peak_rss_mib']):.0f}",
    ]
    return (
        f"{row['model_name'][:15]:<16}{row['variant'][:17]:<18}"
        + "".join(f"{cell:>8}" for cell in cells[:-1])
        + f"{cells[-1]:>10}"
    )


def _print_ratios(ratios: list[dict]) -> None:
    if not ratios:
        return
    print(
        f"against {ratios[0]['reference']!r} (the reference's median beside the variant's; x = reference time / "
        "variant time, the median of the rounds' ratios; above 1 is faster):"
    )
    print(
        f"{'model':<16}{'variant':<18}{'speech':>7}{'total':>16}{'x':>7}{'denoise':>16}{'x':>7}{'s/out-s':>14}"
        f"{'peak MiB':>14}{'x':>7}"
    )
    for ratio in ratios:
        (total_a, total_b), (denoise_a, denoise_b) = ratio["total_s"], ratio["denoise_s"]
        (rt_a, rt_b), (peak_a, peak_b) = ratio["seconds_per_output_second"], ratio["peak_mib"]
        denoise_x = "-" if ratio["denoise_speedup"] is None else f"{ratio['denoise_speedup']:.2f}"
        print(
            f"{ratio['model_name'][:15]:<16}{ratio['variant'][:17]:<18}{ratio['duration_s']:>7g}"
            f"{_short(total_a) + ' / ' + _short(total_b):>16}{ratio['speedup']:>7.2f}"
            f"{_short(denoise_a) + ' / ' + _short(denoise_b):>16}{denoise_x:>7}"
            f"{_short(rt_a) + ' / ' + _short(rt_b):>14}{f'{peak_a:.0f} / {peak_b:.0f}':>14}{ratio['peak_ratio']:>7.2f}"
        )


def run_generate_bench(args: argparse.Namespace) -> int:
    # lazy: keeps `eadnet --help` from importing torch and the U-Net (diffusers)
    from eadnet.benchmarks.generate_bench import (
        GenerateBenchSettings,
        Variant,
        check_model,
        check_variants,
        plan_resolutions,
        resolve_device,
        resolve_dtype,
    )
    from eadnet.benchmarks.generate_bench import run_generate_bench as run_bench

    if args.json is not None:
        check_output_path(args.json, overwrite=True)  # a missing folder fails now, not after the measurements
    device = resolve_device(args.device)
    variants = [Variant.parse(spec) for spec in args.variants or ["preset"]]
    check_variants(variants, device)
    # Unknown models fail here, before the header and minutes of measurements.
    notes = [note for model in args.models for note in plan_resolutions(check_model(model)[0], args.resolutions)[1]]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    settings = GenerateBenchSettings(
        device=device,
        dtype=resolve_dtype(args.dtype, device),
        audio_guidance=args.guidance,
        text_guidance=args.text_guidance,
        emotion=None if args.emotion.lower() == "none" else args.emotion,
        fps=args.fps,
        warmup=args.warmup,
        repeats=args.repeats,
        seed=args.seed,
        isolate=args.isolate,
        threads=args.threads,
        portrait=str(args.image) if args.image else None,
        speech=str(args.audio) if args.audio else None,
        models_dir=str(args.models_dir) if args.models_dir else None,
        cache_interval=args.cache_interval,
        cache_text_guidance=on_off(args.cache_text_guidance),
    )
    settings.check()
    print(
        f"eadnet bench generate: {', '.join(args.models)}; speech {' '.join(f'{d:g}' for d in args.durations)} s; "
        f"warm-up {args.warmup}, median of {args.repeats}; seconds per stage, peak memory in MiB "
        f"({'CUDA allocated' if device.startswith('cuda') else 'CPU resident'})",
        flush=True,
    )
    print(_table_header(), flush=True)
    report = run_bench(
        args.models,
        args.durations,
        settings,
        steps=args.steps,
        resolutions=args.resolutions,
        on_row=lambda row: print(_table_row(row), flush=True),
        variants=variants,
    )
    print(f"machine: {_machine_line(report['machine'], report['settings'])}")
    for fit in report["fits"]:
        print(
            f"fit {fit['model_name']} @ {fit['resolution']} px, {fit['steps']} steps: seconds = "
            f"{fit['intercept_s']:.3g} + {fit['seconds_per_frame']:.3g} x frames (R2 {fit['r2']:.3f}, "
            f"{fit['points']} clip lengths)"
        )
    _print_ratios(report["ratios"])
    _print_targets(report["rows"])
    if args.json is not None:
        with atomic_output(args.json, overwrite=True) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0


def _print_targets(rows: list[dict]) -> None:
    for row in rows:
        if row["duration_s"] == 4.0:
            wall = row["total_s"]
            print(
                f"{row['model_name']} [{row['variant']}], {row['steps']} steps, 4 s clip: {wall:.1f} s (target <= "
                f"{MAX_SECONDS_4S_CLIP:.0f} s: {'met' if wall <= MAX_SECONDS_4S_CLIP else 'NOT met'})"
            )
    by_key = {(row["model_name"], row["variant"], row["steps"], row["duration_s"]): row for row in rows}
    for (name, variant, steps, duration), row in by_key.items():
        short = by_key.get((name, variant, steps, 10.0))
        if duration == 60.0 and short is not None:
            ratio = row["peak_rss_mib"] / short["peak_rss_mib"]
            print(
                f"{name} [{variant}], {steps} steps, peak memory 60 s / 10 s: x{ratio:.3f} (target <= "
                f"{MAX_MEMORY_RATIO_60_TO_10}: {'met' if ratio <= MAX_MEMORY_RATIO_60_TO_10 else 'NOT met'})"
            )


def run_compare(args: argparse.Namespace) -> int:
    # lazy: keeps `eadnet --help` from importing torch and the U-Net (diffusers)
    from eadnet.benchmarks.generate_bench import compare_reports, load_report

    first, second = load_report(args.first), load_report(args.second)
    result = compare_reports(first, second)
    if not result["rows"]:
        raise ValueError(
            f"{args.first} and {args.second} have no rows with the same (model, resolution, duration, "
            "steps, variant); run both with the same --models, --durations, --steps and --variants"
        )
    print(f"A: {args.first}: {_machine_line(first['machine'], first['settings'])}")
    print(f"B: {args.second}: {_machine_line(second['machine'], second['settings'])}")
    print(
        f"{'model':<16}{'variant':<18}{'px':>6}{'speech':>8}{'steps':>6}{'total A':>10}{'total B':>10}{'B/A':>8}"
        f"{'fps A':>9}{'fps B':>9}{'B/A':>8}{'step B/A':>10}"
    )
    for row in result["rows"]:
        name, resolution, duration, steps, variant = row["key"]
        step_ratio = row["denoise_per_step_ratio"]
        print(
            f"{name[:15]:<16}{variant[:17]:<18}{resolution:>6}{duration:>8g}{steps:>6}{row['total_s'][0]:>10.3g}"
            f"{row['total_s'][1]:>10.3g}{row['total_ratio']:>8.3f}{row['fps'][0]:>9.3g}{row['fps'][1]:>9.3g}"
            f"{row['fps_ratio']:>8.3f}{'-' if step_ratio is None else f'{step_ratio:.3f}':>10}"
        )
    print(
        f"geometric mean B/A over {len(result['rows'])} rows: total x{result['geomean_total_ratio']:.3f}, "
        f"fps x{result['geomean_fps_ratio']:.3f}"
    )
    for label, keys in (("only in A", result["only_first"]), ("only in B", result["only_second"])):
        if keys:
            print(f"{label}: " + "; ".join(f"{k[0]} [{k[4]}] {k[1]} px {k[2]:g} s {k[3]} steps" for k in keys))
    return 0
