"""LSE-C / LSE-D: MFCC, the SyncNet v2 network and weight loading, the offset protocol and the face crop."""

import numpy as np
import pytest
import torch

from eadnet.evaluation.fid import WeightsMismatchError
from eadnet.evaluation.lse import (
    StableSyncNetScorer,
    SyncNetV2,
    SyncNetV2Scorer,
    mfcc,
    pcm16,
    sync_offset_scores,
    sync_scores_from_embedders,
    syncnet_face_crops,
)

TINY_V2 = {
    "audio_channels": (4, 4, 4, 4, 4, 8),
    "lip_channels": (4, 4, 4, 4, 4, 8),
    "hidden_dim": 8,
    "embedding_dim": 6,
}


def tiny_v2(seed=0):
    torch.manual_seed(seed)
    model = SyncNetV2(**TINY_V2).eval()
    for module in model.modules():  # non-trivial BatchNorm statistics, so loading them is visible
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


# ------------------------------------------------------------------------------------------------ MFCC
def test_mfcc_frame_count_and_silence():
    assert mfcc(np.zeros(100)).shape == (1, 13)  # shorter than one window: one zero-padded frame
    assert mfcc(np.zeros(400)).shape == (1, 13)
    assert mfcc(np.zeros(401)).shape == (2, 13)
    assert mfcc(np.zeros(16000)).shape == (99, 13)  # 1 + ceil((16000 - 400) / 160)
    # digital silence: every log filter energy is log(eps), a constant vector, so the orthonormal DCT leaves
    # nothing but coefficient 0, which is replaced by the log frame energy log(eps)
    silent = mfcc(np.zeros(2000))
    assert np.allclose(silent[:, 0], np.log(np.finfo(np.float64).eps))
    assert np.allclose(silent[:, 1:], 0.0, atol=1e-9)


def test_mfcc_energy_coefficient_is_log_power():
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 1000, 4000)
    cepstra = mfcc(signal, preemphasis=0.0)
    frame = signal[160:560]  # frame 1: samples 160..559, rectangular window
    power = np.abs(np.fft.rfft(frame, 512)) ** 2 / 512
    assert cepstra[1, 0] == pytest.approx(np.log(power.sum()), rel=1e-12)


def test_mfcc_matches_python_speech_features():
    psf = pytest.importorskip("python_speech_features")
    from eadnet.assets import example_speech_path
    from eadnet.io import load_audio, to_mono_16k

    waveform, rate = load_audio(example_speech_path())
    samples = pcm16(to_mono_16k(waveform, rate)[:24000]).astype(np.int16)
    np.testing.assert_allclose(mfcc(samples, 16000), psf.mfcc(samples, 16000), rtol=1e-9, atol=1e-9)


def test_pcm16_scales_and_clips():
    np.testing.assert_array_equal(pcm16([0.0, 0.5, -1.0, 1.0, 2.0]), [0, 16384, -32768, 32767, 32767])


# ------------------------------------------------------------------------------------------------ protocol
def test_offset_scores_hand_example():
    # 2 windows, 1-d embeddings, offsets +1, 0, -1: audio window i - offset is compared with video window i,
    # windows outside the clip are zero vectors
    scores = sync_offset_scores(torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [5.0]]), vshift=1)
    assert scores.offsets == [1, 0, -1]
    # offset +1: |1 - 0|, |2 - 1| -> 1;  offset 0: |1 - 1|, |2 - 5| -> 1.5;  offset -1: |1 - 5|, |2 - 0| -> 3
    np.testing.assert_allclose(scores.mean_distances, [1.0, 1.5, 3.0], atol=1e-5)
    assert scores.av_offset == 1
    assert scores.lse_d == pytest.approx(1.0, abs=1e-5)
    assert scores.lse_c == pytest.approx(0.5, abs=1e-5)
    assert scores.num_windows == 2 and scores.vshift == 1


@pytest.mark.parametrize("delay", [-6, -1, 0, 3, 9])
def test_audio_shift_moves_best_offset_by_the_shift(delay):
    # a stub "SyncNet": both towers embed the same underlying signal at their window's time, and the audio is
    # delayed by `delay` frames: audio window j holds what video window j - delay shows
    rng = np.random.default_rng(1)
    signal = rng.normal(size=(200, 8))
    num_windows = 120

    def embed_video(starts):
        return torch.tensor(np.stack([signal[50 + s] for s in starts]))

    def embed_audio(starts):
        return torch.tensor(np.stack([signal[50 + s - delay] for s in starts]))

    scores = sync_scores_from_embedders(num_windows, embed_video, embed_audio, vshift=15, batch_size=7)
    # video window i matches audio window i - av_offset: a delayed (lagging) audio gives a negative offset
    assert scores.av_offset == -delay
    assert scores.num_windows == num_windows
    assert scores.mean_distances[scores.offsets.index(-delay)] == scores.lse_d
    assert scores.lse_d < 0.03 * abs(delay) + 1e-3  # only windows whose partner lies outside the clip add distance
    assert scores.lse_c > 2.0


def test_protocol_rejects_mismatched_embeddings():
    with pytest.raises(ValueError, match="both be"):
        sync_offset_scores(torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="too short"):
        sync_scores_from_embedders(0, lambda s: torch.zeros(len(s), 2), lambda s: torch.zeros(len(s), 2))


# ------------------------------------------------------------------------------------------------ network
def test_default_architecture_matches_the_reference_layout():
    state = SyncNetV2().state_dict()
    shapes = {key: tuple(value.shape) for key, value in state.items()}
    assert shapes["netcnnaud.0.weight"] == (64, 1, 3, 3)
    assert shapes["netcnnaud.18.weight"] == (512, 256, 5, 4)
    assert shapes["netcnnlip.0.weight"] == (96, 3, 5, 7, 7)
    assert shapes["netcnnlip.18.weight"] == (512, 256, 1, 6, 6)
    assert shapes["netfcaud.3.weight"] == (1024, 512) and shapes["netfclip.1.running_var"] == (512,)
    assert sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked")) == 13_640_256
    assert not any(k.startswith(("netcnnaud.3.", "netcnnaud.7.", "netcnnlip.3.")) for k in state)  # pools


def test_tiny_syncnet_v2_shapes():
    model = tiny_v2()
    with torch.no_grad():
        lips = model.forward_lip(torch.rand(2, 3, 5, 224, 224) * 255)
        audio = model.forward_audio(torch.randn(3, 1, 13, 20))
    assert lips.shape == (2, 6) and audio.shape == (3, 6)
    with pytest.raises(ValueError, match="mfcc_windows"):
        model.forward_audio(torch.randn(1, 1, 13, 21))


def test_syncnet_python_weights_load_and_are_checked(tmp_path):
    model = tiny_v2(seed=3)
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "syncnet_v2.model"
    torch.save(state, path, _use_new_zipfile_serialization=False)  # the released file predates the zip format
    loaded = SyncNetV2.from_syncnet_python(path, **TINY_V2)
    clips, windows = torch.rand(1, 3, 5, 224, 224) * 255, torch.randn(2, 1, 13, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded.forward_lip(clips), model.forward_lip(clips))
        torch.testing.assert_close(loaded.forward_audio(windows), model.forward_audio(windows))

    broken = dict(state)
    broken.pop("netfclip.3.weight")
    broken["netfcaud.9.weight"] = torch.zeros(1)
    torch.save(broken, tmp_path / "broken.model")
    with pytest.raises(WeightsMismatchError, match="netfclip.3.weight") as info:
        SyncNetV2.from_syncnet_python(tmp_path / "broken.model", **TINY_V2)
    assert info.value.missing_keys == ["netfclip.3.weight"]
    assert info.value.unexpected_keys == ["netfcaud.9.weight"]
    with pytest.raises(WeightsMismatchError, match="shape mismatches"):
        SyncNetV2.from_syncnet_python(path)  # full-size network, tiny file


def test_scorer_feeds_the_protocol_windows():
    model = tiny_v2()
    seen = {"lip": [], "audio": []}
    forward_lip, forward_audio = model.forward_lip, model.forward_audio
    model.forward_lip = lambda clips: seen["lip"].append(clips) or forward_lip(clips)
    model.forward_audio = lambda windows: seen["audio"].append(windows) or forward_audio(windows)

    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (12, 224, 224, 3), dtype=np.uint8)
    waveform = rng.uniform(-0.5, 0.5, 640 * 10 + 300)  # audio for 10 whole frames: it limits the clip
    scores = SyncNetV2Scorer(model, batch_size=4).score(crops, waveform, vshift=3)

    assert scores.num_windows == 10 - 5  # min(frames, samples // 640) - 5, as the reference counts
    assert len(scores.mean_distances) == 7 and scores.offsets == [3, 2, 1, 0, -1, -2, -3]
    clips = torch.cat(seen["lip"])
    assert clips.shape == (5, 3, 5, 224, 224)
    # window 2 = frames 2..6, BGR, raw 0-255 values
    expected = torch.from_numpy(crops[2:7, ..., ::-1].copy()).permute(3, 0, 1, 2).float()
    torch.testing.assert_close(clips[2], expected)
    windows = torch.cat(seen["audio"])
    cepstra = mfcc(pcm16(waveform))
    torch.testing.assert_close(windows[2, 0], torch.from_numpy(cepstra[8:28].T.copy()).float())  # steps 4i..4i+19

    with pytest.raises(ValueError, match="too short"):
        SyncNetV2Scorer(model).score(crops[:5], waveform)


def test_stable_syncnet_scorer_runs_the_same_protocol():
    syncnet = pytest.importorskip("eadnet.models.syncnet")
    torch.manual_seed(0)
    model = syncnet.SyncNet(
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
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)  # resized to the model's 32 px
    scorer = StableSyncNetScorer(model)
    num_windows, embed_video, embed_audio = scorer.prepare(crops, rng.uniform(-0.3, 0.3, 16000))
    assert num_windows == 20 - 4 + 1
    with torch.no_grad():
        video = embed_video([0, 5])
    assert video.shape == (2, 16)
    torch.testing.assert_close(video.norm(dim=1), torch.ones(2))
    scores = scorer.score(crops, rng.uniform(-0.3, 0.3, 16000), vshift=4)
    assert scores.num_windows == 17 and -4 <= scores.av_offset <= 4 and scores.lse_c >= 0


# ------------------------------------------------------------------------------------------------ crops
def test_syncnet_face_crop_geometry():
    height, width = 300, 320
    rows, cols = np.mgrid[0:height, 0:width]
    frame = np.stack([rows % 256, cols % 256, (rows // 256) * 16 + cols // 256], axis=-1).astype(np.uint8)
    box = [100.0, 100.0, 200.0, 180.0]  # half-size s = max(100, 80) / 2 = 50, centre (150, 140)
    crops = syncnet_face_crops(frame[None], [box], size=140, median_kernel=1)
    # rows cy - s .. cy + 1.8 s = 90..230, columns cx ± 1.4 s = 80..220
    np.testing.assert_array_equal(crops[0], frame[90:230, 80:220])

    edge = syncnet_face_crops(frame[None], [[0.0, 0.0, 60.0, 60.0]], size=84, median_kernel=1)
    assert (edge[0, 0, 0] == 110).all()  # outside the frame: the reference's grey padding
    assert syncnet_face_crops(np.repeat(frame[None], 3, 0), [box] * 3).shape == (3, 224, 224, 3)
