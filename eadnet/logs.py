"""Quiet third-party output: the screens of native log lines MediaPipe prints, chatty library loggers and known
harmless warnings, so that a front end shows EAD-Net's own messages (and real errors) only.

What MediaPipe 0.10.14 prints when its face graphs start, and what silences it:

* ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` (TFLite's own logger) and
  ``W0000 00:00:... inference_feedback_manager.cc:114] ...`` (Abseil logging, preceded by ``WARNING: All log
  messages before absl::InitializeLog() is called are written to STDERR``): written by C++ straight to file
  descriptor 2, with no environment variable or exported function to turn them off (``GLOG_minloglevel``,
  ``TF_CPP_MIN_LOG_LEVEL`` and ``ABSL_MIN_LOG_LEVEL`` were tried and change nothing). They come while a graph
  starts (its calculators open on MediaPipe's worker threads, done by the end of the first ``process``), so
  :func:`filtered_native_stderr` redirects descriptor 2 into a temporary file around exactly that and writes back
  every line that is not one of these.
* glog lines (MediaPipe links glog too) and TensorFlow's: ``GLOG_minloglevel`` and ``TF_CPP_MIN_LOG_LEVEL``, read
  when the libraries load, so :func:`quiet_native_logs` sets them (unless already set) before MediaPipe is imported.

Front ends call :func:`quiet_third_party` once at start (the CLI with its ``--verbose`` flag, the ComfyUI pack on
import, the Gradio app); `eadnet.face` calls :func:`quiet_native_logs` before importing MediaPipe and creates its
graphs through :func:`quiet_mediapipe_module`. With ``verbose=True`` nothing is hidden. To see MediaPipe's native
lines without ``verbose``, set ``GLOG_minloglevel=0`` yourself.

```py
>>> from eadnet.logs import quiet_third_party
>>> quiet_third_party()              # a front end, at start
>>> quiet_third_party(verbose=True)  # show everything, and EAD-Net's debug messages
```
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["filtered_native_stderr", "quiet_mediapipe_module", "quiet_native_logs", "quiet_third_party"]

#: Environment variables read by native libraries when they load: glog (linked into MediaPipe) and TensorFlow.
#: "2" keeps errors and drops info and warnings.
GLOG_LEVEL_ENV = "GLOG_minloglevel"  # glog's spelling: the name is case-sensitive
NATIVE_LOG_ENV = {GLOG_LEVEL_ENV: "2", "TF_CPP_MIN_LOG_LEVEL": "2"}

#: Environment variables the Hugging Face libraries read when they are imported (their loggers are also lowered
#: directly when they are already imported).
LIBRARY_LOG_ENV = {"TRANSFORMERS_VERBOSITY": "error", "DIFFUSERS_VERBOSITY": "error"}

#: Python loggers of third parties → the level they get unless verbose (only ever raised, never lowered).
THIRD_PARTY_LOGGERS = {
    "absl": logging.ERROR,
    "transformers": logging.ERROR,
    "diffusers": logging.ERROR,
    "huggingface_hub": logging.WARNING,
    "urllib3": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "filelock": logging.WARNING,
    "PIL": logging.WARNING,
    "matplotlib": logging.WARNING,
    "numba": logging.WARNING,
}

#: Warnings that say nothing a user can act on: (message regex, category).
HARMLESS_WARNINGS = (
    # MediaPipe 0.10.14's solution API calls a method newer protobuf releases deprecate
    (r"SymbolDatabase\.GetPrototype\(\) is deprecated", UserWarning),
    # transformers < 4.38 with torch >= 2.2
    (r"torch\.utils\._pytree\._register_pytree_node is deprecated", Warning),
    # older checkpoint loaders with torch >= 2.0
    (r"TypedStorage is deprecated", UserWarning),
    # transformers < 4.40 passing a huggingface_hub argument that is gone
    (r"`resume_download` is deprecated", FutureWarning),
    # packages that still import pkg_resources
    (r"pkg_resources is deprecated as an API", Warning),
)

#: The native lines :func:`filtered_native_stderr` drops: TFLite's info lines, Abseil's pre-initialisation notice,
#: and glog/Abseil INFO and WARNING lines (``I``/``W``, then ``MMDD hh:mm:ss.micro thread file:line]``; before
#: ``absl::InitializeLog`` the date is ``0000`` and the time ``00:00:<seconds since 1970>.micro``).
NATIVE_NOISE = re.compile(
    r"INFO: Created TensorFlow Lite \w* ?delegate"
    r"|INFO: Initialized TensorFlow Lite runtime"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ :\]]+:\d+\] "
)

_verbose = False
#: The environment variables set here (not by the user), so that verbose mode can take them back.
_env_set_here: set[str] = set()
_stderr_lock = threading.RLock()
_stderr_state = threading.local()


def _set_env_defaults(values: dict[str, str]) -> None:
    for name, value in values.items():
        if name not in os.environ:
            os.environ[name] = value
            _env_set_here.add(name)


def quiet_native_logs() -> None:
    """Sets the native libraries' log levels (``NATIVE_LOG_ENV``) unless the user set them or asked for verbose
    output. Call it before MediaPipe (or TensorFlow) is imported: they read these when they load."""
    if not _verbose:
        _set_env_defaults(NATIVE_LOG_ENV)


def quiet_third_party(verbose: bool = False, *, python_loggers: bool = True) -> None:
    """Quiets what other libraries print, or (``verbose=True``) lets everything through.

    Unless verbose: the native log levels are set (:func:`quiet_native_logs`), MediaPipe's graph start-up lines are
    filtered (:func:`filtered_native_stderr`), known harmless warnings (``HARMLESS_WARNINGS``) are ignored and, with
    ``python_loggers``, the loggers in ``THIRD_PARTY_LOGGERS`` are raised to warnings or errors (and
    ``TRANSFORMERS_VERBOSITY`` / ``DIFFUSERS_VERBOSITY`` set for libraries not imported yet). Variables and levels
    the user set are kept; the root logger is never touched.

    Args:
        verbose (`bool`, *optional*, defaults to `False`): Hide nothing, take back the environment variables set
            here earlier (effective for libraries not loaded yet) and log EAD-Net's debug messages (the ``eadnet``
            logger at DEBUG; a handler is the caller's business).
        python_loggers (`bool`, *optional*, defaults to `True`): Also lower third-party Python loggers. Hosts that
            share their process with other code (the ComfyUI pack) pass `False` and quiet only the native output.
    """
    global _verbose
    _verbose = bool(verbose)
    if _verbose:
        for name in sorted(_env_set_here):
            os.environ.pop(name, None)
        _env_set_here.clear()
        logging.getLogger("eadnet").setLevel(logging.DEBUG)
        return
    quiet_native_logs()
    for message, category in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    if python_loggers:
        _set_env_defaults(LIBRARY_LOG_ENV)
        for name, level in THIRD_PARTY_LOGGERS.items():
            logger = logging.getLogger(name)
            if logger.level < level:
                logger.setLevel(level)


def _filter_active() -> bool:
    if _verbose:
        return False
    user_level = None if GLOG_LEVEL_ENV in _env_set_here else os.environ.get(GLOG_LEVEL_ENV)
    return user_level is None or user_level.strip() not in ("0", "1")


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """Sends what is written to file descriptor 2 meanwhile (native code's output included) to a temporary file,
    then writes it back without the lines matching ``NATIVE_NOISE``. Descriptor 2 is restored even when the body
    raises. Does nothing in verbose mode, when the user set ``GLOG_minloglevel`` below 2, or when descriptor 2
    cannot be duplicated. Calls from several threads take turns; nested calls in one thread redirect once.
    """
    if not _filter_active():
        yield
        return
    with _stderr_lock:
        if getattr(_stderr_state, "active", False):  # nested in this thread: the outer call filters
            yield
            return
        capture = _StderrCapture.start()
        _stderr_state.active = capture is not None
        try:
            yield
        finally:
            _stderr_state.active = False
            if capture is not None:
                kept = [line for line in capture.stop().splitlines(keepends=True) if not _is_noise(line)]
                if kept:
                    with contextlib.suppress(OSError):
                        os.write(2, b"".join(kept))


def _is_noise(line: bytes) -> bool:
    return NATIVE_NOISE.match(line.decode("utf-8", errors="replace")) is not None


class _StderrCapture:
    """File descriptor 2 pointed at a temporary file, from :meth:`start` to :meth:`stop`."""

    def __init__(self, saved_fd: int, file: Any):
        self._saved_fd = saved_fd
        self._file = file

    @classmethod
    def start(cls) -> _StderrCapture | None:
        """Redirects descriptor 2; `None` (and nothing changed) when it cannot be (e.g. pythonw on Windows)."""
        _flush_stderr()
        try:
            saved_fd = os.dup(2)
        except OSError:
            return None
        file = tempfile.TemporaryFile()  # noqa: SIM115 - it outlives this call: stop() closes it
        try:
            os.dup2(file.fileno(), 2)
        except OSError:
            os.close(saved_fd)
            file.close()
            return None
        return cls(saved_fd, file)

    def stop(self) -> bytes:
        """Puts descriptor 2 back and returns what it received."""
        _flush_stderr()
        try:
            os.dup2(self._saved_fd, 2)
        finally:
            os.close(self._saved_fd)
        try:
            self._file.seek(0)
            return self._file.read()
        finally:
            self._file.close()


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):  # sys.stderr may be None or closed in embedded interpreters
        sys.stderr.flush()


# -------------------------------------------------------------------------------------------------- MediaPipe
def quiet_mediapipe_module(module: Any) -> Any:
    """A stand-in for a MediaPipe solutions module (``face_detection``, ``face_mesh``) whose solution classes start
    their graph (until its calculators have opened) and run their first ``process`` inside
    :func:`filtered_native_stderr`, where MediaPipe prints its start-up lines; every other attribute is the
    module's own."""
    return _QuietSolutions(module)


class _QuietSolutions:
    def __init__(self, module: Any):
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, type) and callable(getattr(value, "process", None)):
            return _quiet_solution_class(value)
        return value

    def __repr__(self) -> str:
        return f"<quiet {self._module!r}>"


@functools.cache
def _quiet_solution_class(solution_class: type) -> type:
    class QuietSolution(solution_class):
        def __init__(self, *args, **kwargs):
            self._started_quietly = False
            with filtered_native_stderr():
                super().__init__(*args, **kwargs)
                # the calculators open (and log) on MediaPipe's threads after the graph starts: wait for them
                graph = getattr(self, "_graph", None)
                if graph is not None:
                    graph.wait_until_idle()

        def process(self, *args, **kwargs):
            if self._started_quietly:
                return super().process(*args, **kwargs)
            self._started_quietly = True
            with filtered_native_stderr():
                return super().process(*args, **kwargs)

    QuietSolution.__name__ = solution_class.__name__
    QuietSolution.__qualname__ = solution_class.__qualname__
    QuietSolution.__module__ = solution_class.__module__
    return QuietSolution
