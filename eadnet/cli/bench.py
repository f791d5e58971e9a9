"""``eadnet bench model``: FLOPs and time of the denoiser with EAD modules on and off, and STDA against
full spatio-temporal attention. Prints numbers; asserts nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

# Targets from the model-core issue: what the printed numbers are compared against.
MAX_EAD_FLOP_OVERHEAD = 0.10
MAX_STDA_GROWTH_16_TO_64 = 4.5
MIN_STDA_SPEEDUP_AT_64 = 10.0


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
    model.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    model.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    model.set_defaults(handler=run_model_bench)

    generate = bench_sub.add_parser("generate", help="stage timings and peak memory of `eadnet generate`")
    generate.add_argument("--durations", type=float, nargs="+", default=[4.0, 10.0, 60.0],
                          help="speech lengths in seconds (the shipped speech repeated)")
    generate.add_argument("--model", default="offline-demo", help="weights preset or model folder")
    generate.add_argument("--steps", type=int, help="denoising steps (default: the preset's); memory does not "
                                                    "depend on it, so fewer steps make the long-clip memory run quicker")
    generate.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    generate.set_defaults(handler=run_generate_bench)


def run_model_bench(args: argparse.Namespace) -> int:
    from eadnet.benchmarks.model_bench import as_rows, attention_costs, unet_costs

    if args.resolution % 8:
        raise ValueError(f"--resolution must be a multiple of 8, got {args.resolution}")
    latent = args.resolution // 8
    print(f"device={args.device} threads={torch.get_num_threads()} torch={torch.__version__}")
    print(f"\n(a) U-Net forward, batch 1, {args.frames} frames, {args.resolution} px ({latent}x{latent} latent), "
          "77 text tokens")
    print(f"{'config':<8}{'EAD':<5}{'params (M)':>12}{'TFLOPs':>10}{'seconds':>10}")
    costs = unet_costs(args.configs, args.frames, latent, measure_time=not args.no_time, repeats=args.repeats,
                       device=args.device)
    for cost in costs:
        seconds = "-" if cost.seconds is None else f"{cost.seconds:.3f}"
        print(f"{cost.config:<8}{'on' if cost.ead else 'off':<5}{cost.params_m:>12.1f}{cost.tflops:>10.3f}"
              f"{seconds:>10}")
    for name in args.configs:
        off, on = (next(c for c in costs if c.config == name and c.ead == ead) for ead in (False, True))
        overhead = on.tflops / off.tflops - 1
        line = f"{name}: EAD modules add {overhead:+.2%} FLOPs (target <= {MAX_EAD_FLOP_OVERHEAD:.0%}: " \
               f"{'met' if overhead <= MAX_EAD_FLOP_OVERHEAD else 'NOT met'})"
        if on.seconds is not None:
            line += f", time ratio on/off {on.seconds / off.seconds:.3f}"
        print(line)

    report = {"unet": as_rows(costs)}
    if not args.skip_attention:
        print(f"\n(b) STDA vs full spatio-temporal attention, width {args.stda_channels}, "
              f"{args.stda_latent}x{args.stda_latent} latent")
        print(f"{'kind':<6}{'frames':>7}{'GFLOPs':>12}{'seconds':>10}{'peak MiB':>10}")
        attention = attention_costs(args.stda_frames, args.stda_channels, args.stda_latent, device=args.device)
        for cost in attention:
            print(f"{cost.kind:<6}{cost.frames:>7}{cost.gflops:>12.2f}{cost.seconds:>10.4f}{cost.peak_mib:>10.1f}")
        by_key = {(c.kind, c.frames): c for c in attention}
        first, last = min(args.stda_frames), max(args.stda_frames)
        for kind in ("stda", "full"):
            a, b = by_key[(kind, first)], by_key[(kind, last)]
            print(f"{kind}: F={last} / F={first}: time x{b.seconds / a.seconds:.2f}, "
                  f"FLOPs x{b.gflops / a.gflops:.2f}, peak memory x{b.peak_mib / max(a.peak_mib, 1e-9):.2f}")
        stda, full = by_key[("stda", last)], by_key[("full", last)]
        growth = stda.seconds / by_key[("stda", first)].seconds
        speedup = full.seconds / stda.seconds
        print(f"STDA time growth F={first}->{last}: x{growth:.2f} (target <= {MAX_STDA_GROWTH_16_TO_64}: "
              f"{'met' if growth <= MAX_STDA_GROWTH_16_TO_64 else 'NOT met'}); full/STDA time at F={last}: "
              f"x{speedup:.1f} (target >= {MIN_STDA_SPEEDUP_AT_64:.0f}: "
              f"{'met' if speedup >= MIN_STDA_SPEEDUP_AT_64 else 'NOT met'}), "
              f"memory x{full.peak_mib / max(stda.peak_mib, 1e-9):.1f}")
        report["attention"] = as_rows(attention)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


# Targets from the main-job issue.
MAX_SECONDS_4S_CLIP = 180.0
MAX_MEMORY_RATIO_60_TO_10 = 1.25


def run_generate_bench(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from eadnet.benchmarks.generate_bench import run_generate

    steps = f", --steps {args.steps}" if args.steps else ""
    print(f"eadnet generate --model {args.model}{steps}, shipped portrait, threads={torch.get_num_threads()}")
    runs = []
    for duration in args.durations:
        run = run_generate(duration, args.model, ["--steps", str(args.steps)] if args.steps else None)
        runs.append(run)
        stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.stages.items())
        print(f"{duration:6.1f} s of speech: wall {run.wall_seconds:7.1f} s, peak RSS {run.peak_rss_mib:7.0f} MiB | "
              f"stages (s): {stages}")
    by_duration = {run.audio_seconds: run for run in runs}
    if 4.0 in by_duration:
        wall = by_duration[4.0].wall_seconds
        print(f"4 s clip: {wall:.1f} s (target <= {MAX_SECONDS_4S_CLIP:.0f} s: "
              f"{'met' if wall <= MAX_SECONDS_4S_CLIP else 'NOT met'})")
    if 10.0 in by_duration and 60.0 in by_duration:
        ratio = by_duration[60.0].peak_rss_mib / by_duration[10.0].peak_rss_mib
        print(f"peak memory 60 s / 10 s: x{ratio:.3f} (target <= {MAX_MEMORY_RATIO_60_TO_10}: "
              f"{'met' if ratio <= MAX_MEMORY_RATIO_60_TO_10 else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=2))
    return 0
