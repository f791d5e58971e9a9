"""The tiny pipeline the pipeline tests share: real tiny components and a box face processor (no detector)."""

import pytest

from eadnet.pipelines import EADNetPipeline
from eadnet.testing import BoxFaceProcessor, tiny_components


@pytest.fixture(scope="module")
def pipe():
    pipeline = EADNetPipeline(**tiny_components(seed=0, face_processor=BoxFaceProcessor()))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
