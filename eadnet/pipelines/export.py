"""The one "generate to mp4" path: a pipeline's windows streamed into an H.264 + AAC file.

Every front end that writes a file goes through :func:`write_talking_video` (the CLI, the Gradio service, the
benchmark, the evaluation script), in the spirit of diffusers' ``export_to_video``: frames are encoded as the
windows come (memory does not grow with the clip), the speech is muxed in at the end, and the file appears only
when it is complete (:class:`~eadnet.io.VideoWriter` writes to a temporary file and renames it), so a failure or a
cancellation never leaves a partial mp4 and an existing file is replaced only with ``overwrite=True``.

It works with any engine that offers the generation seam of :class:`~eadnet.pipelines.EADNetPipeline`:
``resolve_settings``, ``generate_windows`` (windows with ``frames`` and a ``report``), ``total_steps`` and
``interrupt``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from eadnet.io.atomic import check_output_path
from eadnet.io.video import VideoWriter
from eadnet.pipelines.pipeline_output import GenerationReport
from eadnet.settings import GenerationSettings

#: ``progress(done_steps, total_steps)``, called after every denoising step.
ProgressCallback = Callable[[int, int], None]


def write_talking_video(
    pipe,
    output: str | os.PathLike,
    *,
    audio,
    sample_rate: int,
    image=None,
    video=None,
    video_fps: float | None = None,
    emotion=None,
    emotion_text: str | None = None,
    emotion_reference=None,
    settings: GenerationSettings | None = None,
    generator=None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    callback_on_step_end: Callable | None = None,
    **options,
) -> GenerationReport:
    r"""Generates a talking-head clip with ``pipe`` and writes it, with the speech, to ``output``.

    Args:
        pipe: An :class:`~eadnet.pipelines.EADNetPipeline` (or another engine with the same generation seam).
        output (`str` or `os.PathLike`): The mp4 to write.
        audio, sample_rate, image, video, video_fps, emotion, emotion_text, emotion_reference: The inputs, as in
            :meth:`EADNetPipeline.__call__ <eadnet.pipelines.EADNetPipeline.__call__>`; give ``video`` as a file
            path to stream it (a long source in flat memory). The file is written at the report's frame rate: the
            source video's own unless ``fps`` is set.
        settings ([`~eadnet.settings.GenerationSettings`], *optional*): The request's settings; ``**options``
            (flat field names, `None` = unset) are applied over them.
        generator (`torch.Generator`, *optional*): Makes the result reproducible.
        overwrite (`bool`, *optional*, defaults to `False`): Replace ``output`` if it exists (checked before any
            work is done).
        progress (`Callable[[int, int], None]`, *optional*): ``progress(done, total)`` after every denoising step.
        cancel (`threading.Event`, *optional*): Set it to stop between two steps; the call then raises
            :class:`~eadnet.pipelines.GenerationCancelled` and writes nothing.
        callback_on_step_end (`Callable`, *optional*): The pipeline's own step callback, called after
            ``progress`` and ``cancel`` are handled.

    Returns:
        [`GenerationReport`]: Frames, steps, the emotion description, the resolved settings and the stage timings
        (``mux`` included); ``output`` is the written file.
    """
    started = time.perf_counter()
    settings = pipe.resolve_settings(settings, **options)
    check_output_path(output, overwrite)  # before any work: an existing file is kept unless overwrite
    report = GenerationReport(fps=settings.fps or 0.0, settings=settings)

    def on_step(pipeline, step, timestep, callback_kwargs):
        if progress is not None:
            progress(step + 1, pipeline.total_steps or step + 1)
        if cancel is not None and cancel.is_set():
            pipeline.interrupt = True
        if callback_on_step_end is not None:
            return callback_on_step_end(pipeline, step, timestep, callback_kwargs)
        return callback_kwargs

    windows = pipe.generate_windows(
        image=image,
        audio=audio,
        sample_rate=sample_rate,
        emotion=emotion,
        emotion_text=emotion_text,
        emotion_reference=emotion_reference,
        video=video,
        video_fps=video_fps,
        settings=settings,
        generator=generator,
        callback_on_step_end=on_step,
    )
    mux = 0.0
    writer = None
    try:
        for window in windows:
            report = window.report
            write_start = time.perf_counter()
            if writer is None:  # the frame rate is known from the first window on (a source video's own rate)
                writer = VideoWriter(output, report.fps, overwrite=overwrite)
            writer.write(window.frames)
            mux += time.perf_counter() - write_start
        if writer is None:  # pragma: no cover - every engine yields at least one window
            raise RuntimeError("the pipeline produced no frames")
        mux_start = time.perf_counter()
        writer.set_audio(audio, sample_rate)
        writer.close()  # muxes and renames
        mux += time.perf_counter() - mux_start
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        windows.close()  # a failed write ends the run at once, not when the generator is collected
        pipe.interrupt = False
    report.timings["mux"] = report.timings.get("mux", 0.0) + mux
    report.output = Path(output)
    report.total_seconds = time.perf_counter() - started
    return report
