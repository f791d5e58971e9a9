"""Face stage: detection, alignment to the model's square crop, regeneration masks and paste-back.

```python
from eadnet.face import FaceProcessor

processor = FaceProcessor(crop_size=256, mask_mode="lower_face")
aligned = processor.align_portrait(portrait)  # portrait: uint8 RGB (H, W, 3)
crop, matrix = aligned.crops[0], aligned.matrices[0]  # (256, 256, 3), (2, 3) portrait → crop
frame = processor.paste_back_frame(portrait, generated_crop, matrix)  # feathered, only the face region changes
```

MediaPipe (``pip install mediapipe==0.10.14``) is needed only by :class:`MediaPipeFaceDetector`, the default
detector, and is imported when the first one is created.
"""

from eadnet.face.alignment import (
    TEMPLATE_POINTS5,
    estimate_similarity,
    invert_affine,
    landmarks_to_points5,
    smooth_points,
    template_points5,
    transform_points,
    warp_affine,
    warp_to_crop,
)
from eadnet.face.choice import FaceChoice, FaceChoiceError, describe_faces, follow_face
from eadnet.face.detection import FaceDetection, FaceDetector, MediaPipeFaceDetector, NoFaceError
from eadnet.face.mask import MASK_MODES, mouth_mask, mouth_region
from eadnet.face.processor import NO_FACE_POLICIES, AlignedFaces, FaceProcessor, border_feather

__all__ = [
    "AlignedFaces",
    "FaceChoice",
    "FaceChoiceError",
    "FaceDetection",
    "FaceDetector",
    "FaceProcessor",
    "MASK_MODES",
    "MediaPipeFaceDetector",
    "NO_FACE_POLICIES",
    "NoFaceError",
    "TEMPLATE_POINTS5",
    "border_feather",
    "describe_faces",
    "estimate_similarity",
    "follow_face",
    "invert_affine",
    "landmarks_to_points5",
    "mouth_mask",
    "mouth_region",
    "smooth_points",
    "template_points5",
    "transform_points",
    "warp_affine",
    "warp_to_crop",
]
