"""Media input and output: speech audio, portraits, videos, and output files written atomically.

- `eadnet.io.audio`: `load_audio` (wav/flac/ogg via libsndfile; mp3, m4a and the sound of videos via PyAV),
  `audio_duration`, `is_silent` / `check_speech`, `to_mono_16k`.
- `eadnet.io.image`: `load_image` (paths, PIL images, numpy arrays, torch tensors → uint8 RGB).
- `eadnet.io.video`: `probe_video`, `read_video`, `iter_video_frames`, `VideoWriter` and `write_video` (H.264 + AAC
  MP4 through PyAV).
- `eadnet.io.atomic`: `atomic_output` and `check_output_path`.
"""

from eadnet.io.atomic import atomic_output, check_output_path
from eadnet.io.audio import AudioError, audio_duration, check_speech, is_silent, load_audio, to_mono_16k
from eadnet.io.image import ImageError, load_image
from eadnet.io.video import VideoError, VideoInfo, VideoWriter, iter_video_frames, probe_video, read_video, write_video

__all__ = [
    "AudioError",
    "ImageError",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "atomic_output",
    "audio_duration",
    "check_output_path",
    "check_speech",
    "is_silent",
    "iter_video_frames",
    "load_audio",
    "load_image",
    "probe_video",
    "read_video",
    "to_mono_16k",
    "write_video",
]
