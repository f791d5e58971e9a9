"""`python -m gradio_app`: the address comes from --host/--port, else Gradio's own environment variables."""

import pytest

from gradio_app.__main__ import parse_args


@pytest.fixture
def no_gradio_env(monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    return monkeypatch


def address(argv, environ=None):
    args = parse_args(argv, environ)
    return args.host, args.port


def test_defaults_without_flags_or_environment(no_gradio_env):
    assert address([]) == ("127.0.0.1", 7860) and parse_args([]).model is None


def test_gradio_environment_variables_are_honoured(no_gradio_env):
    no_gradio_env.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    no_gradio_env.setenv("GRADIO_SERVER_PORT", "7861")
    assert address(["--model", "eadnet-mesh"]) == ("0.0.0.0", 7861)


def test_flags_override_the_environment(no_gradio_env):
    no_gradio_env.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    no_gradio_env.setenv("GRADIO_SERVER_PORT", "7861")
    assert address(["--host", "127.0.0.2", "--port", "8000"]) == ("127.0.0.2", 8000)
    assert address(["--port", "8000"]) == ("0.0.0.0", 8000)
    assert address([], environ={}) == ("127.0.0.1", 7860)


@pytest.mark.parametrize(
    ("argv", "port", "message"), [([], "web", "GRADIO_SERVER_PORT='web'"), (["--port", "0"], None, "port 0")]
)
def test_bad_ports_are_usage_errors(no_gradio_env, capsys, argv, port, message):
    if port is not None:
        no_gradio_env.setenv("GRADIO_SERVER_PORT", port)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
