"""``eadnet bench generate`` and ``eadnet bench compare`` on the tiny model folder (one step, sub-second clips)."""

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch

from eadnet.benchmarks.generate_bench import SCHEMA, STAGES, linear_fit, tile_speech
from eadnet.cli import main

DURATIONS = (0.5, 1.0)


def _run_cli(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def bench_result(tiny_model_dir, tmp_path_factory):
    """One in-process benchmark run: (exit code, stdout, stderr, JSON path, threads before the run)."""
    path = tmp_path_factory.mktemp("bench") / "tiny.json"
    threads = torch.get_num_threads()
    # One thread: on a loaded 2-core machine two OpenMP threads can be many times slower than one.
    code, stdout, stderr = _run_cli(
        [
            "bench",
            "generate",
            "--models",
            str(tiny_model_dir),
            "--durations",
            *map(str, DURATIONS),
            "--steps",
            "1",
            "--resolutions",
            "64",
            "128",
            "--threads",
            "1",
            "--warmup",
            "1",
            "--repeats",
            "1",
            "--cache-interval",
            "2",
            "--cache-text-guidance",
            "on",
            "--json",
            str(path),
        ]
    )
    return code, stdout, stderr, path, threads


def test_generate_bench_json_schema(bench_result):
    code, stdout, stderr, path, threads = bench_result
    assert code == 0, stderr
    assert torch.get_num_threads() == threads  # --threads does not leak out of the benchmark
    report = json.loads(path.read_text())
    assert report["schema"] == SCHEMA
    machine = report["machine"]
    for key in ("cpu_model", "cpu_count", "torch_threads", "torch", "diffusers", "cuda", "host_id"):
        assert key in machine
    assert "hostname" not in machine
    assert report["settings"]["threads"] == 1 and report["settings"]["warmup"] == 1

    rows = report["rows"]
    assert [row["duration_s"] for row in rows] == list(DURATIONS)
    for row, duration in zip(rows, DURATIONS, strict=True):
        assert row["resolution"] == 64 and row["steps"] == 1 and row["cache_interval"] == 2
        assert row["cache_text_guidance"] is True
        assert row["frames"] == math.ceil(duration * 25)
        assert set(row["stages_s"]) == set(STAGES)
        assert all(seconds >= 0 for seconds in row["stages_s"].values())
        assert row["stages_s"]["denoise"] > 0 and row["stages_s"]["mux"] > 0
        assert row["total_s"] >= sum(row["stages_s"].values()) - 1e-3
        assert row["denoise_per_step_s"] == pytest.approx(row["stages_s"]["denoise"] / row["denoise_steps"])
        assert row["denoise_steps"] == row["windows"] * row["steps"]
        assert row["fps"] > 0 and row["fps"] == pytest.approx(row["frames"] / row["total_s"])
        assert row["peak_rss_mib"] > 0 and row["cuda_peak_mib"] is None
        assert len(row["total_s_all"]) == 1
    (fit,) = report["fits"]
    assert fit["points"] == 2 and fit["frames"] == [13, 25]
    assert math.isfinite(fit["intercept_s"]) and math.isfinite(fit["seconds_per_frame"])
    # The model's crop size is fixed: 128 px is noted as not run, never faked.
    assert any("128 px not run" in note for note in report["notes"])
    assert "128 px not run" in stderr

    assert "s/step" in stdout and "peak MiB" in stdout
    assert stdout.count(rows[0]["model_name"][:15]) >= 3  # two rows and a fit line
    assert "x frames" in stdout and "wrote" in stdout


def test_compare_prints_ratios(bench_result, tmp_path):
    *_, path, _ = bench_result
    report = json.loads(path.read_text())
    for row in report["rows"]:  # "machine B" takes twice as long
        row["total_s"] *= 2
        row["fps"] /= 2
    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps(report))
    code, stdout, stderr = _run_cli(["bench", "compare", str(path), str(slower)])
    assert code == 0, stderr
    assert stdout.count(" 2.000") == len(DURATIONS) and stdout.count(" 0.500") == len(DURATIONS)
    assert "geometric mean B/A over 2 rows: total x2.000, fps x0.500" in stdout


def test_compare_refuses_unrelated_files(bench_result, tmp_path):
    *_, path, _ = bench_result
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"audio_seconds": 4.0}]))
    code, _, stderr = _run_cli(["bench", "compare", str(path), str(other)])
    assert code == 2 and "not an `eadnet bench generate --json` result" in stderr

    report = json.loads(path.read_text())
    for row in report["rows"]:
        row["steps"] = 20
    other.write_text(json.dumps(report))
    code, _, stderr = _run_cli(["bench", "compare", str(path), str(other)])
    assert code == 2 and "no rows with the same" in stderr


def test_missing_model_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    code, stdout, stderr = _run_cli(["bench", "generate", "--models", str(missing), "--durations", "0.5"])
    assert code == 2
    assert str(missing) in stderr and "no such folder" in stderr
    assert stdout == ""  # fails before the table header, not after minutes of measurements


def test_isolated_run_reports_a_row(tiny_model_dir, tmp_path):
    path = tmp_path / "isolated.json"
    code, _, stderr = _run_cli(
        [
            "bench",
            "generate",
            "--models",
            str(tiny_model_dir),
            "--durations",
            "0.5",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--isolate",
            "--variants",
            "uncached",
            "cache=2",
            "--json",
            str(path),
        ]
    )
    assert code == 0, stderr
    report = json.loads(path.read_text())
    uncached, cached = report["rows"]  # each variant in its own child process
    assert (uncached["cache_interval"], cached["cache_interval"]) == (1, 2)
    for row in (uncached, cached):
        assert row["isolated"] and row["frames"] == 13 and row["total_s"] > 0 and row["peak_rss_mib"] > 0
    (ratio,) = report["ratios"]
    assert not ratio["rounds_paired"] and ratio["speedup"] == pytest.approx(uncached["total_s"] / cached["total_s"])


def test_tile_speech_and_linear_fit():
    speech = np.ones(1000, dtype=np.float32)
    tiled = tile_speech(speech, 1000, 3.0)
    assert len(tiled) == 3000 and tiled[1000:1300].max() == 0 and tiled[1300] == 1  # repeated after a pause
    assert len(tile_speech(speech, 1000, 0.5)) == 500
    fit = linear_fit([10, 20, 40], [1.5, 2.5, 4.5])
    assert fit["intercept_s"] == pytest.approx(0.5) and fit["seconds_per_frame"] == pytest.approx(0.1)
    assert fit["r2"] == pytest.approx(1.0)
    assert linear_fit([13, 13], [1.0, 1.1]) is None


def test_model_bench_measures_the_vae_decode_per_chunk(tmp_path):
    """Section (d): the Stable Diffusion VAE's decode, one fresh process per chunk size (tiny latents here)."""
    path = tmp_path / "model.json"
    argv = ["bench", "model", "--configs", "tiny", "--no-time", "--skip-attention", "--skip-cache"]
    code, stdout, stderr = _run_cli([*argv, "--resolution", "16", "--vae-chunks", "1", "2", "--json", str(path)])
    assert code == 0, stderr
    assert "(d) VAE decode" in stdout and "MiB/frame" in stdout
    rows = json.loads(path.read_text())["vae_decode"]
    assert [(row["chunk"], row["resolution"], row["dtype"]) for row in rows] == [
        (1, 16, "float32"),
        (2, 16, "float32"),
    ]
    assert all(row["seconds_per_frame"] > 0 and row["peak_mib"] >= 0 for row in rows)
    code, _, stderr = _run_cli([*argv, "--resolution", "16", "--vae-chunks", "0"])
    assert code == 2 and "--vae-chunks must be positive" in stderr


def test_variants_run_in_one_benchmark_with_the_reference_figure_beside_each(tiny_model_dir, tmp_path):
    """Both engines in one table, the diffusion model under two variants: the uncached path (today's figure) and the
    cache with the text-guidance reuse; the speed-ups are against the first variant, figure beside figure."""
    path = tmp_path / "variants.json"
    code, stdout, stderr = _run_cli(
        ["bench", "generate", "--models", "eadnet-mesh", str(tiny_model_dir), "--durations", "0.5", "--steps", "2",
         "--threads", "1", "--warmup", "0", "--emotion", "happy:2", "--text-guidance", "2",
         "--variants", "uncached", "cache=2,text=on", "--json", str(path)]
    )  # fmt: skip
    assert code == 0, stderr
    report = json.loads(path.read_text())
    mesh, uncached, cached = report["rows"]
    assert (mesh["model_name"], mesh["engine"], mesh["variant"]) == ("eadnet-mesh", "mesh", "preset")
    assert mesh["steps"] == mesh["denoise_steps"] == 0 and mesh["stages_s"]["render"] > 0
    assert mesh["stages_s"]["denoise"] == 0 and mesh["resolution"] == 512  # the example portrait's own size
    assert any("uncached, cache=2,text=on not run (diffusion options only)" in note for note in report["notes"])
    assert [row["variant"] for row in (uncached, cached)] == ["uncached", "cache=2,text=on"]
    assert (uncached["cache_interval"], cached["cache_interval"], cached["cache_text_guidance"]) == (1, 2, True)
    for row in report["rows"]:
        assert row["seconds_per_output_second"] == pytest.approx(row["total_s"] * 25 / row["frames"])
    (ratio,) = report["ratios"]
    assert (ratio["reference"], ratio["variant"]) == ("uncached", "cache=2,text=on")
    assert ratio["total_s"] == [uncached["total_s"], cached["total_s"]]
    assert ratio["speedup"] == pytest.approx(uncached["total_s"] / cached["total_s"])
    assert ratio["denoise_speedup"] == pytest.approx(uncached["stages_s"]["denoise"] / cached["stages_s"]["denoise"])
    assert "against 'uncached'" in stdout
    line = next(line for line in stdout.splitlines() if line.split()[1:2] == ["cache=2,text=on"] and " / " in line)
    assert f"{ratio['speedup']:.2f}" in line
    assert report["settings"]["variants"][0]["name"] == "uncached"


def test_variant_specs_and_what_a_device_can_run():
    from eadnet.benchmarks.generate_bench import Variant, check_variants

    assert Variant.parse("preset") == Variant(name="preset") and Variant.parse("preset").defaults_only
    assert Variant.parse("uncached") == Variant(name="uncached", cache_interval=1)
    spec = "cache=4,text=off,dtype=bfloat16,compile=on,offload=off"
    assert Variant.parse(spec) == Variant(spec, 4, False, "bfloat16", True, False)
    assert Variant.parse("compile=on").load_key("float32") == ("float32", True, False)
    assert Variant.parse("cache=3").load_key("float32") == Variant().load_key("float32")  # one pipeline serves both
    for bad, message in [("cache=0", "cache must be"), ("speed=2", "is not key=value"), ("cache", "is not key=value"),
                         ("dtype=half", "dtype must be"), ("text=maybe", "on or off"), ("cache=2,cache=3", "twice")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            Variant.parse(bad)
    with pytest.raises(ValueError, match="float16 needs a GPU"):
        check_variants([Variant.parse("dtype=float16")], "cpu")
    with pytest.raises(ValueError, match="needs CUDA"):
        check_variants([Variant.parse("offload=on")], "cpu")
    with pytest.raises(ValueError, match="must differ"):
        check_variants([Variant.parse("cache=2"), Variant.parse("cache=2")], "cpu")
    code, stdout, stderr = _run_cli(["bench", "generate", "--variants", "preset", "dtype=float16", "--device", "cpu"])
    assert code == 2 and "float16 needs a GPU" in stderr and stdout == ""  # refused before the table


def test_a_compile_variant_compiles_the_unet_as_eadnet_generate_does(tiny_model_dir, monkeypatch):
    """The compile variant wraps the U-Net in torch.compile (inductor itself is the slow test of `--compile`)."""
    from eadnet.benchmarks.generate_bench import GenerateBenchSettings, Variant, _load_model

    compiled = []
    monkeypatch.setattr(torch, "compile", lambda module, **kwargs: compiled.append(module) or module)
    settings = GenerateBenchSettings()
    plain = _load_model(str(tiny_model_dir), settings, Variant.parse("cache=2"))
    assert compiled == []
    loaded = _load_model(str(tiny_model_dir), settings, Variant.parse("compile=on"))
    assert compiled == [loaded.pipe.unet] and loaded.pipe.unet is not plain.pipe.unet


def test_the_model_benchmark_times_compiled_unets(monkeypatch, tmp_path):
    """`bench model --compile` (the GPU script's compiled step time): every timed U-Net goes through torch.compile,
    the cached step included (dynamo with its eager backend here: inductor's compilation takes minutes on a CPU)."""
    real_compile = torch.compile
    compiled = []

    def dynamo_only(model, **kwargs):
        compiled.append(type(model).__name__)
        return real_compile(model, backend="eager")

    monkeypatch.setattr(torch, "compile", dynamo_only)
    path = tmp_path / "model.json"
    argv = ["bench", "model", "--configs", "tiny", "--skip-attention", "--resolution", "64", "--frames", "4"]
    code, stdout, stderr = _run_cli([*argv, "--cache-intervals", "2", "--compile", "--json", str(path)])
    assert code == 0, stderr
    assert compiled == ["EADUNet3DModel"] * 3  # EAD modules off and on, then the DeepCache steps
    report = json.loads(path.read_text())
    assert report["settings"]["compile"] is True and "compile=on" in stdout
    (cache,) = report["deep_cache"]
    assert cache["full_seconds"] > 0 and cache["cached_seconds"] > 0
    torch._dynamo.reset()


def test_speed_ups_pair_the_rounds_of_alternating_runs():
    """A machine that slows down in round 2 slows both variants: the median of the rounds' ratios stays 2, where the
    ratio of the medians would not; isolated runs (not alternated) fall back to the ratio of the medians."""
    from eadnet.benchmarks.generate_bench import variant_ratios

    def row(variant, totals, isolated=False):
        return {"model_name": "m", "resolution": 64, "duration_s": 4.0, "steps": 10, "variant": variant,
                "total_s": sorted(totals)[1], "total_s_all": totals, "denoise_s_all": [t - 1 for t in totals],
                "stages_s": {"denoise": sorted(totals)[1] - 1}, "seconds_per_output_second": 1.0,
                "cuda_peak_mib": None, "peak_rss_mib": 100.0, "isolated": isolated}  # fmt: skip

    (paired,) = variant_ratios([row("uncached", [21, 61, 25]), row("preset", [11, 31, 9])], "uncached")
    assert paired["rounds_paired"] and paired["speedup"] == pytest.approx(61 / 31)  # rounds: 1.91, 1.97, 2.78
    assert paired["speedup"] != pytest.approx(25 / 11)
    (medians,) = variant_ratios([row("uncached", [21, 61, 25], True), row("preset", [11, 31, 9], True)], "uncached")
    assert not medians["rounds_paired"] and medians["speedup"] == pytest.approx(25 / 11)
