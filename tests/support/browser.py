"""Headless Chromium (Debian's package) driven through the DevTools protocol, to look at a report
the way a person does: load it, listen to its console, measure its charts, take a screenshot.

Chromium writes the port it listens on to ``DevToolsActivePort`` in its profile folder when started
with ``--remote-debugging-port=0``; the page's WebSocket address comes from ``/json/list``
(Chrome DevTools Protocol, ``HTTP endpoints``). Connections are made without an Origin header,
which Chromium 111 and later accept without ``--remote-allow-origins``.
"""

import base64
import io
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket
from PIL import Image

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
    "--remote-debugging-port=0",
)

CHART_PROBE = """JSON.stringify({
  svgs: [...document.querySelectorAll('svg')]
      .filter(s => !s.parentElement.closest('svg')).map(s => {
    const box = s.getBoundingClientRect();
    return {width: box.width, height: box.height, texts: s.querySelectorAll('text').length,
            shapes: s.querySelectorAll('path, rect, polyline, line, use, circle').length};
  }),
  images: [...document.images].map(i => ({width: i.naturalWidth, height: i.naturalHeight})),
  links: [...document.links].map(a => a.getAttribute('href')),
})"""


def chromium_path() -> str | None:
    """The Chromium executable, when Debian's package is installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """A headless Chromium with one page, driven over its DevTools WebSocket."""

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self._process = subprocess.Popen(
            [chromium_path(), *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port(Path(self._profile.name) / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        address = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self._socket = websocket.create_connection(address, timeout=60, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def _port(self, file: Path, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if file.is_file() and file.read_text().strip():
                return int(file.read_text().splitlines()[0])
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self._process.returncode}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def send(self, method: str, **params: object) -> dict:
        """Sends one command; returns its result, keeping the events that came meanwhile."""
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def open(self, path: Path, timeout: float = 60) -> None:
        """Loads ``path`` and waits for its load event."""
        self.events.clear()
        self.send("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not load")
            self.events.append(json.loads(self._socket.recv()))

    def console_errors(self) -> list[str]:
        """Errors the page raised or logged: exceptions, console.error, the browser's own log."""
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(" ".join(str(a.get("value")) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
        return errors

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for while loading."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def charts(self) -> dict:
        """The page's top-level SVGs (size, text and shape counts), images (natural size), links."""
        result = self.send("Runtime.evaluate", expression=CHART_PROBE, returnByValue=True)
        return json.loads(result["result"]["value"])

    def screenshot(self) -> Image.Image:
        """The whole page as an image."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        return Image.open(io.BytesIO(base64.b64decode(data["data"]))).convert("RGB")

    def close(self) -> None:
        """Closes the connection, stops Chromium and removes its profile."""
        self._socket.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._profile.cleanup()


def share_not_background(image: Image.Image) -> float:
    """The share of pixels that differ from the top-left one (the page's background)."""
    background = image.getpixel((0, 0))
    colours = image.getcolors(maxcolors=image.width * image.height)
    same = sum(count for count, colour in colours if colour == background)
    return 1 - same / (image.width * image.height)
