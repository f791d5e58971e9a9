"""Tiny real components for tests of the pipeline and of the front ends (milliseconds per forward).

Every component is the real class with a tiny configuration and random weights made with a fixed seed; nothing
is downloaded. Like ``diffusers.utils.testing_utils``, this ships with the library so that the ComfyUI nodes,
the Gradio app and the CLI are tested against the same builders.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    BertConfig,
    BertModel,
    BertTokenizer,
    PreTrainedTokenizerFast,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperModel,
)

from eadnet.face import FaceProcessor
from eadnet.hub.local import save_model_folder
from eadnet.models.audio_encoder import WhisperAudioEncoder
from eadnet.models.emotion_captioner import describe_labels
from eadnet.models.text_encoder import EmotionTextEncoder
from eadnet.models.unet_3d import UNET_CONFIGS, EADUNet3DModel
from eadnet.pipelines.pipeline_eadnet import default_scheduler
from eadnet.settings import SamplingDefaults

TINY_CROP_SIZE = 64

#: A 32 px SyncNet: lower halves (48, 16, 32); the audio tower keeps LatentSync's strides on (1, 80, 52).
TINY_SYNCNET_CONFIG = {
    "image_size": 32,
    "audio_block_out_channels": (8, 8, 16, 16, 32, 32, 32),
    "visual_block_out_channels": (16, 16, 32, 32, 32),
    "visual_downsample_factors": ((1, 2), 2, 2, 2, 2),
    "visual_attn_blocks": (0, 0, 0, 0, 0),
    "norm_num_groups": 8,
}


def tiny_text_encoder(seed: int = 0, hidden_size: int = 24) -> EmotionTextEncoder:
    """A one-layer BERT with a word-piece vocabulary written on the fly."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # The words of the label templates, so that label descriptions tokenise without [UNK].
    words = {word for text in describe_labels().values() for word in re.findall(r"[a-z]+|[^a-z\s]", text.lower())}
    vocab = specials + sorted(words | set("abcdefghijklmnopqrstuvwxyz"))
    directory = Path(tempfile.mkdtemp(prefix="eadnet-tiny-tokenizer-"))
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(directory / "vocab.txt"), model_max_length=64)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    return EmotionTextEncoder(BertModel(config).eval(), tokenizer)


def tiny_audio_encoder(seed: int = 0, d_model: int = 16) -> WhisperAudioEncoder:
    """A two-layer Whisper encoder (``d_model`` wide; 3 stacked states → 30 tokens per frame)."""
    torch.manual_seed(seed)
    config = WhisperConfig(
        d_model=d_model,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=32,
        vocab_size=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    return WhisperAudioEncoder(WhisperModel(config).eval(), WhisperFeatureExtractor())


def tiny_vae(seed: int = 0):
    """An ``AutoencoderKL`` with 8 channels per stage and the real ×8 downsampling."""
    torch.manual_seed(seed)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=TINY_CROP_SIZE,
    ).eval()


def tiny_unet(seed: int = 0, **overrides) -> EADUNet3DModel:
    torch.manual_seed(seed)
    return EADUNet3DModel.from_named_config("tiny", **overrides).eval()


def tiny_components(seed: int = 0, face_processor=None, **unet_overrides) -> dict:
    """Everything :class:`~eadnet.pipelines.EADNetPipeline` needs, tiny. ``face_processor`` defaults to a
    MediaPipe :class:`~eadnet.face.FaceProcessor` with 64 px crops."""
    if face_processor is None:
        face_processor = FaceProcessor(crop_size=TINY_CROP_SIZE, mask_mode="face")
    config = UNET_CONFIGS["tiny"]
    return {
        "unet": tiny_unet(seed, **unet_overrides),
        "vae": tiny_vae(seed),
        "scheduler": default_scheduler(),
        "audio_encoder": tiny_audio_encoder(seed, d_model=config["cross_attention_dim"]),
        "text_encoder": tiny_text_encoder(seed, hidden_size=config["text_embed_dim"]),
        "face_processor": face_processor,
    }


# --- a tiny vision-language model (SmolVLM's Idefics3 architecture) for the reference-captioning path ---------
VLM_IMAGE_SEQ_LEN = 4  # (image_size // patch_size) ** 2 / scale_factor ** 2 = (32 // 8) ** 2 / 4
VLM_SPECIAL_TOKENS = ["<|endoftext|>", "<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
VLM_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)


def tiny_vlm_tokenizer():
    """Byte-level BPE without merges (one token per byte) plus the Idefics3 special tokens, built offline."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate(VLM_SPECIAL_TOKENS + alphabet)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in VLM_SPECIAL_TOKENS])
    return PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def save_tiny_vlm(directory) -> Path:
    """Saves a tiny randomly initialised ``Idefics3ForConditionalGeneration`` + processor to ``directory``."""
    # lazy: only the VLM tests need Idefics3, and its PIL image processor's module path is transformers 5's
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    directory = Path(directory)
    tokenizer = tiny_vlm_tokenizer()
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False, size={"longest_edge": 32}, max_image_size={"longest_edge": 32}
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=VLM_IMAGE_SEQ_LEN,
        chat_template=VLM_CHAT_TEMPLATE,
    )
    eos = tokenizer.eos_token_id
    config = Idefics3Config(
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "model_type": "llama",
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 512,
            "bos_token_id": eos,
            "eos_token_id": eos,
            "pad_token_id": eos,
        },
        scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=eos,
    )
    torch.manual_seed(0)
    model = Idefics3ForConditionalGeneration(config).eval()
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def save_tiny_model_folder(directory, seed: int = 0) -> Path:
    """Saves :func:`tiny_components` as a model folder (``--model DIR``, ComfyUI ``models/eadnet/<name>``):
    64 px crops, whole-face mask, untrained, one step and no guidance by default."""

    components = tiny_components(seed=seed, face_processor=object())
    components.pop("face_processor")
    return save_model_folder(
        directory,
        components,
        resolution=TINY_CROP_SIZE,
        mask_mode="face",
        trained=False,
        sampling=SamplingDefaults(num_inference_steps=1, audio_guidance_scale=1.0, text_guidance_scale=1.0),
    )


class BoxFaceProcessor:
    """A stand-in for :class:`~eadnet.face.FaceProcessor` that treats a fixed square of the frame as the face: crop =
    that square resized to the crop size (pipeline tests without a face detector)."""

    def __init__(self, box=(8, 4, 48), crop_size=TINY_CROP_SIZE):
        self.box = box
        self.crop_size = crop_size

    def _matrix(self):
        x0, y0, size = self.box
        scale = self.crop_size / size
        return np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])

    def _crop(self, frame):
        x0, y0, size = self.box
        region = torch.from_numpy(frame[y0 : y0 + size, x0 : x0 + size]).permute(2, 0, 1)[None].float()
        crop = F.interpolate(region, size=(self.crop_size, self.crop_size), mode="bilinear", align_corners=False)
        return crop[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()

    def align_portrait(self, image):
        return self.align_frames(image[None])

    def align_frames(self, frames, no_face="error"):
        crops = np.stack([self._crop(frame) for frame in frames])
        return SimpleNamespace(
            crops=crops, matrices=np.stack([self._matrix()] * len(frames)), source_index=np.arange(len(frames))
        )

    def track_frames(self, frames, no_face="error"):
        count = 0
        height = width = 0
        for frame in frames:
            height, width = frame.shape[:2]
            count += 1
        return np.stack([self._matrix()] * count), np.arange(count), (height, width)

    def crop_frame(self, frame, matrix):
        return self._crop(frame)

    def mask(self):
        mask = np.zeros((self.crop_size, self.crop_size), dtype=np.float32)
        mask[self.crop_size // 2 :, 8:-8] = 1.0
        return mask

    def paste_back_frame(self, frame, crop, matrix, blend_mask=None):
        x0, y0, size = self.box
        out = frame.copy()
        resized = (
            F.interpolate(
                torch.from_numpy(crop).permute(2, 0, 1)[None].float(),
                size=(size, size),
                mode="bilinear",
                align_corners=False,
            )[0]
            .permute(1, 2, 0)
            .numpy()
        )
        out[y0 : y0 + size, x0 : x0 + size] = resized.round().clip(0, 255).astype(np.uint8)
        return out


# --- the eadnet-mesh engine with tiny models and a fixed face (no MediaPipe, no silero) -----------------------------
class StaticFaceDetector:
    """A stand-in for :class:`~eadnet.face.MediaPipeFaceDetector` that finds one known face mesh: the same landmarks
    (scaled to the image's size) in every image, except in the images ``missing`` says have no face.

    Args:
        landmarks (`np.ndarray`): ``(478, 2)`` mesh in pixels of an image of ``size``.
        size (`tuple[int, int]`): ``(height, width)`` the landmarks belong to.
        missing (`Callable`, *optional*): ``missing(image) -> bool``: images without a face (default: none).
    """

    def __init__(self, landmarks, size, missing=None):
        self.landmarks = np.asarray(landmarks, dtype=np.float64)
        self.size = tuple(size)
        self.missing = missing
        self.calls = 0

    def detect(self, image):
        from eadnet.face import FaceDetection

        self.calls += 1
        if self.missing is not None and self.missing(image):
            return None
        scale = np.array([image.shape[1] / self.size[1], image.shape[0] / self.size[0]])
        points = (self.landmarks + 0.5) * scale - 0.5
        box = np.concatenate([points.min(axis=0), points.max(axis=0)])
        return FaceDetection(box=box, landmarks=points, score=1.0)

    def detect_video(self, frames):
        return [self.detect(frame) for frame in frames]


def tiny_mouth_model(audio_encoder: WhisperAudioEncoder, seed: int = 0):
    """An :class:`~eadnet.models.audio_to_mouth.AudioToMouthModel` sized for ``audio_encoder`` (8 channels, one
    temporal block)."""
    from eadnet.models.audio_to_mouth import AudioToMouthModel

    torch.manual_seed(seed)
    return AudioToMouthModel(
        num_states=audio_encoder.num_states, feature_dim=audio_encoder.output_dim, hidden_dim=8, dilations=(1,)
    ).eval()


def tiny_mesh_pipeline(detector, seed: int = 0, voice_activity=None):
    """The ``eadnet-mesh`` engine with a tiny Whisper, a tiny mouth model, ``detector`` and a voice activity that
    says "speech" wherever the audio is louder than -50 dBFS over 20 ms (default)."""
    from eadnet.pipelines.pipeline_mesh import EADNetMeshPipeline

    audio_encoder = tiny_audio_encoder(seed)
    if voice_activity is None:

        def voice_activity(waveform, sample_rate, num_frames, fps):
            times = (np.arange(num_frames) + 0.5) / fps
            window = max(1, int(0.02 * sample_rate))
            centres = np.clip((times * sample_rate).astype(int), 0, len(waveform) - 1)
            levels = [np.abs(waveform[max(0, c - window) : c + window]).max(initial=0.0) for c in centres]
            return np.asarray(levels) > 10 ** (-50 / 20)

    return EADNetMeshPipeline(
        audio_encoder, tiny_mouth_model(audio_encoder, seed), detector=detector, voice_activity=voice_activity
    )
