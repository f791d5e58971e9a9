"""A real browser against the app: headless Chromium (Debian's, driven by Playwright) uploads, generates, plays.

Playwright cannot download browsers here, so the system ``/usr/bin/chromium`` is launched by path. The screenshot
lands in ``artifacts/gradio_browser.png`` (git-ignored) for a human to look at.
"""

import re
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

pytest.importorskip("gradio")
pytest.importorskip("mediapipe")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True
    )


from eadnet.assets import example_portrait_path, example_speech_path  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GENERATE_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def test_upload_generate_and_play_in_chromium(app_url, browser, tmp_path):
    speech, rate = sf.read(example_speech_path(), dtype="float32")
    sf.write(tmp_path / "speech.wav", speech[:rate], rate)
    portrait = tmp_path / "portrait.png"
    shutil.copy(example_portrait_path(), portrait)

    page = browser.new_page()
    page.goto(app_url, wait_until="networkidle")
    page.get_by_role("button", name="Generate").wait_for(timeout=30_000)

    # the file inputs in page order: portrait, source video, speech (the reference video is hidden)
    files = page.locator("input[type=file]")
    files.nth(0).set_input_files(str(portrait))
    page.locator("img[src*='portrait']").first.wait_for(timeout=30_000)
    files.nth(2).set_input_files(str(tmp_path / "speech.wav"))
    page.get_by_role("button", name="Generate").wait_for()

    emotion = page.get_by_label("Emotion", exact=True)
    emotion.click()
    page.get_by_role("option", name="sad", exact=True).click()
    assert emotion.input_value() == "sad"

    page.wait_for_timeout(500)  # let the uploads settle
    page.get_by_role("button", name="Generate").click()
    video = page.locator("#result video[src]").first  # the examples show videos too
    video.wait_for(timeout=GENERATE_TIMEOUT_S * 1000)
    src = video.get_attribute("src")
    assert src
    if not src.startswith("http"):
        src = app_url.rstrip("/") + "/" + src.lstrip("/")
    with urllib.request.urlopen(src, timeout=30) as response:
        assert response.status == 200
        head = response.read(64)
    assert head[4:8] == b"ftyp", "the video source is not an mp4"
    deadline = time.monotonic() + 30
    while page.evaluate("(v) => v.readyState", video.element_handle()) < 1 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.evaluate("(v) => v.readyState", video.element_handle()) >= 1, "the browser cannot load the video"
    assert "sad" in page.get_by_label("Emotion description used").input_value()

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "gradio_browser.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.is_file() and screenshot.stat().st_size > 0
    page.close()


def test_clicking_the_portrait_fills_the_face_box(app_url, browser, tmp_path):
    portrait = tmp_path / "portrait.png"
    shutil.copy(example_portrait_path(), portrait)  # 512 x 512
    page = browser.new_page()
    page.goto(app_url, wait_until="networkidle")
    face = page.get_by_label(re.compile(r"^\s*Face\b"))  # the label holds the info line too
    face.wait_for(timeout=30_000)
    assert face.input_value() == "largest"

    page.locator("input[type=file]").nth(0).set_input_files(str(portrait))
    image = page.locator("img[src*='portrait']").first
    image.wait_for(timeout=30_000)
    # the image settles into its final size after it loads (on a busy machine well after it appears): wait for that
    deadline, box = time.monotonic() + 20, None
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        loaded = image.evaluate("(img) => img.complete && img.naturalWidth > 0")
        current = image.bounding_box()
        if loaded and current == box:
            break
        box = current
    image.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    deadline = time.monotonic() + 10
    while face.input_value() == "largest" and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    x, y = (int(value) for value in face.input_value().split(","))
    assert abs(x - 128) <= 3 and abs(y - 256) <= 3, face.input_value()  # pixels of the image, not of the page
    page.close()
