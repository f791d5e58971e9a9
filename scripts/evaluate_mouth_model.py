"""Prints the lip-sync numbers of an audio-to-mouth weights folder (the eadnet-mesh engine's mouth) on the held-out
split of its recipe: jaw-opening correlation with the phoneme-derived truth, /m b p/ closure and pause closure, at
one or more frame rates, with and without the voice-activity gate. Optionally also measures real recordings: the mean
``jaw_open`` inside and outside the speech Silero VAD finds.

    python scripts/evaluate_mouth_model.py
    python scripts/evaluate_mouth_model.py --weights runs/eadnet-mesh/mouth/mouth \
        --cache runs/eadnet-mesh/mouth/features --fps 25 30 60 --real-speech test.wav

The split is planned from the recipe's ``data:`` section exactly as `eadnet train mouth` planned it (``test``: the
held-out sentences in the held-out voice), spoken with espeak-ng and encoded with the recipe's Whisper encoder;
``--cache`` reuses (or writes) the training run's feature files. Scores: `eadnet.evaluation.mouth_params`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = REPO / "eadnet" / "weights" / "eadnet-mesh" / "mouth"
DEFAULT_RECIPE = REPO / "recipes" / "mouth_eadnet_mesh.yaml"
TARGETS = {"jaw_r_mean": 0.8, "bilabial_closed_rate": 0.9, "pause_closed_rate": 1.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="AudioToMouthModel folder")
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE, help="the training recipe (its data plan)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split (default test)")
    parser.add_argument("--fps", type=float, nargs="+", default=[25.0], help="frame rates scored (default 25)")
    parser.add_argument("--cache", type=Path, default=None, help="folder of the {split}.safetensors feature files")
    parser.add_argument("--real-speech", type=Path, nargs="*", default=[], help="real recordings to measure")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser.parse_args(argv)


def _format(value: float) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"


def score_split(args, model, encoder, vad) -> list[dict]:
    from eadnet.data.mouth_dataset import build_mouth_features
    from eadnet.evaluation.mouth_params import evaluate_mouth_model
    from eadnet.training.mouth_trainer import MouthTrainConfig

    config = MouthTrainConfig.from_yaml(args.recipe)
    specs = config.data.plan()[args.split]
    cache = None if args.cache is None else args.cache / f"{args.split}.safetensors"
    feature_set = build_mouth_features(specs, encoder, cache)
    thresholds = config.evaluation.thresholds()
    rows = []
    for fps in args.fps:
        for gate in (None, vad):
            rows.append(evaluate_mouth_model(model, feature_set, fps, gate, **thresholds))
    return rows


def measure_real_speech(path: Path, model, encoder, vad, fps: float = 25.0) -> dict:
    """Mean ``jaw_open`` in Silero's speech and silence frames of a recording (the model's own output, and gated),
    and the correlation of the jaw with the loudness envelope in the speech frames."""
    from eadnet.evaluation.speech_proxy import speech_envelope
    from eadnet.io import load_audio

    waveform, sample_rate = load_audio(path)
    raw = model.predict(encoder, waveform, sample_rate, fps=fps)
    gate = vad.mouth_gate(waveform, sample_rate, len(raw), fps)
    speech = vad.speech_mask(waveform, sample_rate, len(raw), fps)
    jaw, gated = raw[:, 0], raw[:, 0] * gate
    envelope = speech_envelope(waveform, sample_rate, len(raw), fps)
    correlation = float(np.corrcoef(jaw[speech], envelope[speech])[0, 1]) if speech.sum() > 2 else float("nan")
    return {
        "file": str(path),
        "seconds": round(waveform.shape[-1] / sample_rate, 2),
        "speech_frames": int(speech.sum()),
        "silence_frames": int((~speech).sum()),
        "jaw_speech": float(jaw[speech].mean()),
        "jaw_silence_raw": float(jaw[~speech].mean()),
        "jaw_silence_gated": float(gated[~speech].mean()),
        "silence_closed_raw": float((jaw[~speech] < 0.1).mean()),
        "silence_closed_gated": float((gated[~speech] < 0.1).mean()),
        "jaw_loudness_r_in_speech": correlation,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from eadnet.data.preprocess import resolve_audio_encoder
    from eadnet.models.audio_to_mouth import AudioToMouthModel
    from eadnet.models.voice_activity import VoiceActivityDetector
    from eadnet.training.mouth_trainer import MouthTrainConfig

    model = AudioToMouthModel.from_pretrained(args.weights).eval()
    encoder = resolve_audio_encoder(MouthTrainConfig.from_yaml(args.recipe).data.audio_encoder)
    vad = VoiceActivityDetector()
    rows = score_split(args, model, encoder, vad)
    real = [measure_real_speech(path, model, encoder, vad) for path in args.real_speech]
    if args.json:
        print(json.dumps({"weights": str(args.weights), "split": args.split, "scores": rows, "real": real}, indent=2))
        return
    print(f"{args.weights} on the {args.split} split ({rows[0]['utterances']} utterances)")
    header = ["fps", "gate", "jaw r (mean)", "jaw r (pooled)", "jaw MAE", "/m b p/ closed", "lip_press > 0.5"]
    header += ["pause closed", "frames", "/m b p/ frames", "pause frames"]
    print(" | ".join(header))
    for row in rows:
        cells = [f"{row['fps']:g}", "VAD" if row["gated"] else "none", _format(row["jaw_r_mean"])]
        cells += [_format(row[key]) for key in ("jaw_r_pooled", "jaw_mae", "bilabial_closed_rate")]
        cells += [_format(row["bilabial_pressed_rate"]), _format(row["pause_closed_rate"])]
        cells += [str(row[key]) for key in ("frames", "bilabial_frames", "pause_frames")]
        print(" | ".join(cells))
    print("targets: " + ", ".join(f"{key} >= {value:g}" for key, value in TARGETS.items()))
    for item in real:
        print(
            f"{item['file']} ({item['seconds']} s, 25 fps): jaw_open {item['jaw_speech']:.3f} in speech "
            f"({item['speech_frames']} frames), {item['jaw_silence_raw']:.3f} in silence ({item['silence_frames']} "
            f"frames; {item['jaw_silence_gated']:.3f} gated); silence frames closed (jaw < 0.1): "
            f"{item['silence_closed_raw']:.1%} raw, {item['silence_closed_gated']:.1%} gated; jaw vs loudness r in "
            f"speech {item['jaw_loudness_r_in_speech']:.3f}"
        )


if __name__ == "__main__":
    main()
