"""The evaluation orchestrator and ``eadnet evaluate`` on a small generated talking clip."""

import csv
import json

import numpy as np
import pytest
import torch

from eadnet.evaluation.evaluate import METRICS, Evaluator, evaluate_folder, evaluate_video, to_jsonable
from eadnet.evaluation.fvd import I3DFeatureExtractor
from eadnet.evaluation.lse import SyncNetV2

NUM_FRAMES = 38  # 1.52 s at 25 fps: two 16-frame FVD clips, 33 SyncNet windows


def make_clip(path, phase=0.0, seconds=1.5):
    """The example portrait at 256 px, swaying slightly, with the first `seconds` of the example speech."""
    import cv2

    from eadnet.assets import example_portrait_path, example_speech_path
    from eadnet.io import load_audio, load_image, write_video

    portrait = cv2.resize(load_image(example_portrait_path()), (256, 256), interpolation=cv2.INTER_AREA)
    frames = []
    for index in range(NUM_FRAMES):
        angle = 2.0 * np.sin(index / 6 + phase)
        matrix = cv2.getRotationMatrix2D((128, 128), angle, 1.0)
        frames.append(cv2.warpAffine(portrait, matrix, (256, 256), borderMode=cv2.BORDER_REFLECT))
    waveform, rate = load_audio(example_speech_path())
    write_video(path, np.stack(frames), 25, audio=waveform[:, : int(seconds * rate)], sample_rate=rate)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    (root / "generated").mkdir()
    (root / "reference").mkdir()
    return {
        "video": make_clip(root / "generated" / "a.mp4"),
        "second": make_clip(root / "generated" / "b.mp4", phase=1.0),
        "reference": make_clip(root / "reference" / "a.mp4", phase=0.3),
        "reference_b": make_clip(root / "reference" / "b.mp4", phase=1.3),
        "root": root,
    }


@pytest.fixture
def no_weights(tmp_path):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    return folder


class TinyI3D(torch.nn.Module):
    def forward(self, x, rescale: bool = True, resize: bool = True, return_features: bool = False):
        pooled = torch.nn.functional.adaptive_avg_pool3d(x, (1, 5, 5)).flatten(1)  # 75-d
        return torch.cat([pooled, pooled.square()], dim=1)


def tiny_models():
    torch.manual_seed(0)
    return {
        "syncnet_v2": SyncNetV2(
            audio_channels=(4, 4, 4, 4, 4, 8), lip_channels=(4, 4, 4, 4, 4, 8), hidden_dim=8, embedding_dim=6
        ).eval(),
        "inception": torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(3), torch.nn.Flatten()),  # 27-d "features"
        "i3d": I3DFeatureExtractor(TinyI3D()),
    }


def test_offline_metrics_and_reasons_for_the_rest(clips, no_weights, monkeypatch):
    from eadnet.assets import example_portrait_path

    report = evaluate_video(
        clips["video"],
        reference_video=clips["reference"],
        reference_portrait=example_portrait_path(),
        emotion="happy",
        weights_dir=no_weights,
    )
    json.dumps(report, allow_nan=False)  # plain JSON: no NaN, no inf, no numpy
    assert report["num_frames"] == NUM_FRAMES and report["fps"] == pytest.approx(25.0)
    scores, skipped = report["scores"], report["skipped"]
    assert set(report["metrics"]) | set(skipped) == set(METRICS)

    assert -1.0 <= scores["mouth_sync_corr"] <= 1.0 and abs(scores["mouth_sync_best_lag"]) <= 10
    assert scores["landmark_jitter"] > 0 and scores["mouth_jitter"] > 0
    assert 0 <= scores["identity_geometry"] < 0.1  # the same face, rotated
    assert scores["geometry_emotion"] in (
        "happy",
        "neutral",
        "surprised",
        "fear",
        "sad",
        "angry",
        "disgusted",
        "contempt",
    )
    assert 0.3 < scores["ssim"] < 1.0 and 10 < scores["psnr"] < 60
    if "emotion" in report["metrics"]:  # fer installed: the smiling astronaut reads happy
        assert scores["emotion_accuracy"] > 0.5
    else:
        assert "fer" in skipped["emotion"]

    for name, flag, file_name in (
        ("lse", "--syncnet-v2", "syncnet_v2.model"),
        ("fid", "--inception", "pt_inception-2015-12-05-6726825d.pth"),
        ("fvd", "--i3d", "i3d_torchscript.pt"),
        ("syncnet", "--syncnet", "stable_syncnet"),
    ):
        assert flag in skipped[name] and file_name in skipped[name] and str(no_weights) in skipped[name]
    assert not any(key in scores for key in ("lse_c", "lse_d", "fid", "fvd"))  # never a made-up number


def test_geometry_emotion_is_scored_against_the_persons_neutral_face(clips, no_weights):
    """The clip is the smiling portrait, merely rotated: on absolute geometry it reads happy; measured as the change
    from that same portrait (its neutral) nothing changed, so it reads neutral."""
    from eadnet.assets import example_portrait_path

    absolute = evaluate_video(clips["video"], metrics=["emotion_geometry"], emotion="happy", weights_dir=no_weights)
    relative = evaluate_video(
        clips["video"],
        metrics=["emotion_geometry"],
        emotion="happy",
        weights_dir=no_weights,
        reference_portrait=example_portrait_path(),
    )
    assert absolute["metrics"]["emotion_geometry"]["neutral_baseline"].startswith("none")
    assert relative["metrics"]["emotion_geometry"]["neutral_baseline"] == "reference_portrait"
    assert absolute["scores"]["geometry_emotion"] == "happy"
    assert relative["scores"]["geometry_emotion"] == "neutral"


def test_missing_inputs_are_reasons_not_errors(clips, no_weights):
    report = evaluate_video(
        clips["video"], metrics=["identity", "emotion", "ssim_psnr", "mouth_sync"], weights_dir=no_weights
    )
    assert "--reference-portrait" in report["skipped"]["identity"]
    assert "--emotion" in report["skipped"]["emotion"]
    assert "--reference-video" in report["skipped"]["ssim_psnr"]
    assert "mouth_sync" in report["metrics"]  # the video's own sound track
    with pytest.raises(FileNotFoundError, match="video not found"):
        evaluate_video(clips["root"] / "absent.mp4")
    with pytest.raises(ValueError, match="unknown metrics"):
        Evaluator(metrics=["lse", "vibes"])


def test_all_metrics_with_injected_networks(clips, no_weights):
    report = evaluate_video(
        clips["video"],
        reference_video=clips["reference"],
        metrics=["lse", "fid", "fvd", "ssim_psnr"],
        weights_dir=no_weights,
        models=tiny_models(),
    )
    assert report["skipped"] == {}, report["skipped"]
    lse = report["metrics"]["lse"]
    assert lse["num_windows"] == NUM_FRAMES - 5 and len(lse["mean_distances"]) == 31 and lse["crop"] == "syncnet"
    assert report["scores"]["lse_c"] >= 0 and abs(report["scores"]["av_offset"]) <= 15
    assert report["scores"]["fid"] > 0 and report["metrics"]["fid"]["num_frames"] == NUM_FRAMES
    assert report["scores"]["fvd"] > 0 and report["metrics"]["fvd"]["num_clips"] == 2

    same = evaluate_video(
        clips["video"],
        reference_video=clips["video"],
        metrics=["fid", "fvd", "ssim_psnr"],
        weights_dir=no_weights,
        models=tiny_models(),
    )
    assert same["scores"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert same["scores"]["fvd"] == pytest.approx(0.0, abs=1e-6)
    assert same["scores"]["ssim"] == 1.0 and same["scores"]["psnr"] is None  # inf is written as null
    assert same["metrics"]["ssim_psnr"]["psnr_identical_frames"] == NUM_FRAMES


def test_lse_on_aligned_crops_and_our_own_syncnet(clips, no_weights):
    syncnet = pytest.importorskip("eadnet.models.syncnet")
    torch.manual_seed(0)
    own = syncnet.SyncNet(
        num_frames=4,
        image_size=32,
        norm_num_groups=4,
        audio_block_out_channels=(8, 8, 8, 8, 16),
        audio_downsample_factors=((2, 1), 2, 2, 2, (5, 1)),
        audio_attn_blocks=(0,) * 5,
        visual_block_out_channels=(8, 8, 8, 8, 16),
        visual_downsample_factors=((1, 2), 2, 2, 2, 2),
        visual_attn_blocks=(0,) * 5,
    ).eval()
    report = evaluate_video(
        clips["video"],
        metrics=["lse", "syncnet"],
        weights_dir=no_weights,
        lse_crop="aligned",
        models={**tiny_models(), "syncnet": own},
    )
    assert report["skipped"] == {}, report["skipped"]
    assert report["metrics"]["lse"]["crop"] == "aligned"
    assert report["metrics"]["syncnet"]["window_frames"] == 4
    assert report["metrics"]["syncnet"]["num_windows"] == NUM_FRAMES - 4 + 1
    assert {"syncnet_conf", "syncnet_dist", "syncnet_offset"} <= set(report["scores"])


def test_unusable_weights_are_reported(clips, tmp_path):
    small = SyncNetV2(
        audio_channels=(4, 4, 4, 4, 4, 8), lip_channels=(4, 4, 4, 4, 4, 8), hidden_dim=8, embedding_dim=6
    )
    torch.save(small.state_dict(), tmp_path / "syncnet_v2.model")
    report = evaluate_video(clips["video"], metrics=["lse"], weights_dir=tmp_path)  # found by its file name
    assert report["skipped"]["lse"].startswith("cannot load syncnet_v2 weights")
    assert "shape mismatches" in report["skipped"]["lse"]
    with pytest.raises(FileNotFoundError, match="i3d weights not found"):
        evaluate_video(clips["video"], metrics=["fvd"], weights={"i3d": tmp_path / "absent.pt"})


def test_folder_csv_json_and_set_level_scores(clips, no_weights, tmp_path):
    out_csv, out_json = tmp_path / "scores.csv", tmp_path / "report.json"
    result = evaluate_folder(
        clips["root"] / "generated",
        reference_folder=clips["root"] / "reference",
        metrics=["mouth_sync", "ssim_psnr", "fid", "fvd"],
        weights_dir=no_weights,
        models=tiny_models(),
        out_csv=out_csv,
        out_json=out_json,
    )
    assert [r["video"].rsplit("/", 1)[-1] for r in result["videos"]] == ["a.mp4", "b.mp4"]
    assert result["set_metrics"]["fid"] > 0 and result["set_metrics"]["fid_samples"] == [76, 76]
    assert result["set_metrics"]["fvd_samples"] == [4, 4]
    assert "fid" not in result["videos"][0]["scores"]  # FID/FVD are set-level in a folder
    assert result["summary"]["ssim"]["count"] == 2

    with open(out_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["video"].rsplit("/", 1)[-1] for row in rows] == ["a.mp4", "b.mp4"]
    assert float(rows[0]["ssim"]) == pytest.approx(result["videos"][0]["scores"]["ssim"], rel=1e-5)
    assert "mouth_sync_corr" in rows[0] and "skipped" in rows[0]
    assert json.loads(out_json.read_text())["set_metrics"] == result["set_metrics"]


def test_to_jsonable():
    value = to_jsonable({"a": np.float32(1.5), "b": [np.nan, np.inf, -np.inf], "c": np.arange(2), "d": np.bool_(1)})
    assert value == {"a": 1.5, "b": [None, None, None], "c": [0, 1], "d": True}


def test_cli(clips, no_weights, tmp_path, capsys):
    from eadnet.cli import main

    out = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                str(clips["video"]),
                "--metrics",
                "mouth_sync",
                "lse",
                "--weights-dir",
                str(no_weights),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "mouth_sync_corr" in printed and "[skipped] lse" in printed
    report = json.loads(out.read_text())
    assert "mouth_sync_corr" in report["scores"] and "syncnet_v2" in report["skipped"]["lse"]

    folder_csv = tmp_path / "folder.csv"
    assert (
        main(
            [
                "evaluate",
                str(clips["root"] / "generated"),
                "--metrics",
                "landmarks",
                "--weights-dir",
                str(no_weights),
                "--csv",
                str(folder_csv),
            ]
        )
        == 0
    )
    assert "mean" in capsys.readouterr().out
    assert len(folder_csv.read_text().strip().splitlines()) == 3  # header + 2 videos

    assert main(["evaluate", str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4" in capsys.readouterr().err
    assert main(["evaluate", str(clips["video"]), "--syncnet-v2", str(tmp_path / "nope.model")]) == 2
    assert "nope.model" in capsys.readouterr().err


def test_cli_takes_one_emotion_per_video_from_a_labels_file(clips, no_weights, tmp_path, capsys):
    from eadnet.cli import main

    folder = clips["root"] / "generated"
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a": "happy", "b": "sad"}))
    out = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                str(folder),
                "--metrics",
                "emotion_geometry",
                "--emotion",
                str(labels),
                "--weights-dir",
                str(no_weights),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    intended = {
        r["video"].rsplit("/", 1)[-1]: r["metrics"]["emotion_geometry"]["intended_label"]
        for r in json.loads(out.read_text())["videos"]
    }
    assert intended == {"a.mp4": "happy", "b.mp4": "sad"}
    rows = tmp_path / "labels.csv"
    rows.write_text("stem,emotion\na,angry\nb,fear\n")
    assert (
        main(
            [
                "evaluate",
                str(folder),
                "--metrics",
                "emotion_geometry",
                "--emotion",
                str(rows),
                "--weights-dir",
                str(no_weights),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    intended = [r["metrics"]["emotion_geometry"]["intended_label"] for r in json.loads(out.read_text())["videos"]]
    assert intended == ["angry", "fear"]
    capsys.readouterr()
    labels.write_text(json.dumps(["happy"]))
    assert main(["evaluate", str(folder), "--emotion", str(labels)]) == 2
    assert "JSON object" in capsys.readouterr().err
    assert main(["evaluate", str(clips["video"]), "--emotion", str(rows)]) == 2
    assert "only when evaluating a folder" in capsys.readouterr().err
    assert main(["evaluate", str(folder), "--emotion", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_an_unreadable_video_in_a_folder_is_reported(tmp_path, no_weights):
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(b"not a video")
    out_csv = tmp_path / "scores.csv"
    result = evaluate_folder(folder, metrics=["landmarks"], weights_dir=no_weights, out_csv=out_csv)
    assert result["videos"][0]["error"] and result["videos"][0]["scores"] == {}
    assert "error:" in out_csv.read_text()
    with pytest.raises(ValueError, match="no videos"):
        evaluate_folder(no_weights)
    with pytest.raises(ValueError, match="not a MEAD emotion"):
        evaluate_folder(folder, emotion="grumpy")  # checked before any video is read
