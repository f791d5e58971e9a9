"""Third-party noise is hidden by default and shown with --verbose (eadnet.logs)."""

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from eadnet import logs
from eadnet.assets import example_portrait_path

ROOT = Path(__file__).resolve().parents[1]

#: What MediaPipe 0.10.14 and protobuf print when the face detector starts.
NOISE_MARKERS = ("W0000", "XNNPACK", "absl", "GetPrototype")


def _environment() -> dict[str, str]:
    """This process's environment without the log settings a user (or an earlier test) could have set."""
    env = {
        name: value for name, value in os.environ.items() if name not in {*logs.NATIVE_LOG_ENV, *logs.LIBRARY_LOG_ENV}
    }
    env["HF_HUB_OFFLINE"] = "1"
    return env


def _expression(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "eadnet", *flags, "expression", str(example_portrait_path())]
    command += ["--emotion", "happy", "--output", str(tmp_path / "out.png")]
    return subprocess.run(command, cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=120)


def test_cli_hides_mediapipe_noise(tmp_path):
    result = _expression(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.png").is_file()
    noisy = [line for line in result.stderr.splitlines() if any(marker in line for marker in NOISE_MARKERS)]
    assert not noisy, noisy


def test_cli_verbose_lets_everything_through(tmp_path):
    result = _expression(tmp_path, "--verbose")
    assert result.returncode == 0, result.stderr
    assert "XNNPACK" in result.stderr and "W0000" in result.stderr  # MediaPipe's own lines, not filtered
    assert "DEBUG " in result.stderr  # and the debug log


@pytest.fixture
def quiet_state(monkeypatch):
    """A fresh eadnet.logs state and no user log settings; the loggers it touches are restored afterwards."""
    for name in (*logs.NATIVE_LOG_ENV, *logs.LIBRARY_LOG_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(logs, "_verbose", False)
    monkeypatch.setattr(logs, "_env_set_here", set())
    names = ["", "eadnet", *logs.THIRD_PARTY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    for name in (*logs.NATIVE_LOG_ENV, *logs.LIBRARY_LOG_ENV):
        os.environ.pop(name, None)


def _write_fd2(*lines: str) -> None:
    os.write(2, "".join(line + "\n" for line in lines).encode())


NATIVE_LINES = (
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "W0000 00:00:1796619735.655816   18377 inference_feedback_manager.cc:114] Feedback manager requires a model",
    "I0123 12:34:56.789012    4242 gl_context.cc:357] GL version: 3.2",
)


def test_filtered_native_stderr_keeps_real_lines_and_restores_fd2(quiet_state, capfd):
    with logs.filtered_native_stderr():
        _write_fd2(NATIVE_LINES[0], "E0000 00:00:1796619735.1 1 graph.cc:1] a real error", *NATIVE_LINES[1:])
        print("python's own stderr", file=sys.stderr)
    with pytest.raises(RuntimeError), logs.filtered_native_stderr():
        _write_fd2(NATIVE_LINES[2])
        raise RuntimeError("boom")
    _write_fd2("after")  # descriptor 2 is back
    lines = capfd.readouterr().err.splitlines()
    assert sorted(lines) == sorted(
        ["E0000 00:00:1796619735.1 1 graph.cc:1] a real error", "python's own stderr", "after"]
    )
    assert lines[-1] == "after"


@pytest.mark.parametrize("how", ["verbose", "user asked for native logs"])
def test_filtered_native_stderr_passes_everything_when_asked(quiet_state, capfd, monkeypatch, how):
    if how == "verbose":
        logs.quiet_third_party(verbose=True)
    else:
        monkeypatch.setenv(logs.GLOG_LEVEL_ENV, "0")
    with logs.filtered_native_stderr():
        _write_fd2(*NATIVE_LINES)
    assert capfd.readouterr().err.splitlines() == list(NATIVE_LINES)


def test_quiet_third_party_levels_and_environment(quiet_state, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user's own setting is kept
    logging.getLogger("httpx").setLevel(logging.ERROR)  # levels are only ever raised
    root_level = logging.getLogger().level
    logs.quiet_third_party()
    assert os.environ[logs.GLOG_LEVEL_ENV] == "2" and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert logging.getLogger("transformers").level == logging.ERROR
    assert logging.getLogger("urllib3").level == logging.WARNING
    assert logging.getLogger("httpx").level == logging.ERROR
    assert logging.getLogger().level == root_level
    # verbose takes back what was set here, keeps what the user set, and shows EAD-Net's debug messages
    logs.quiet_third_party(verbose=True)
    assert logs.GLOG_LEVEL_ENV not in os.environ and "TRANSFORMERS_VERBOSITY" not in os.environ
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert logging.getLogger("eadnet").level == logging.DEBUG


def test_comfy_pack_import_quiets_native_output_only():
    code = textwrap.dedent(
        """
        import logging, os
        logging.getLogger().setLevel(logging.INFO)  # as ComfyUI's own setup leaves it
        import comfy_nodes
        assert logging.getLogger().level == logging.INFO
        assert logging.getLogger("transformers").level == logging.NOTSET
        assert "TRANSFORMERS_VERBOSITY" not in os.environ
        assert os.environ["GLOG_minloglevel"] == "2"
        """
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_environment(), check=True, timeout=120)
