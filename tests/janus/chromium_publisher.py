#!/usr/bin/python3
"""Headless Chromium publishing to a Janus plugin: fake-device audio + video and
one data channel, driven by page/publish.html served from a local HTTP server.

    with ChromiumPublisher(tmp_dir, janus_url, "janus.plugin.echotest",
                           {"audio": True, "video": True}, codec="H264") as pub:
        result = pub.result()

The result has the shape of aiortc_publisher's (codecs as "name/clock[/ch]",
sent/received packets per kind, data_sent, events, ice_states, error, ...).
Run inside tests/janus/netns.sh.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_env  # noqa: E402

PAGE = Path(__file__).resolve().parent / "page" / "publish.html"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
    "--disable-background-networking", "--mute-audio", "--disable-gpu", "--no-first-run",
    "--disable-component-update", "--disable-sync",
]


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    raise FileNotFoundError("chromium not found (apt-get install chromium)")


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", janus_env.free_port()), _Handler)
        self.result = None
        self.got_result = threading.Event()
        self.log = []


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/publish.html":
            return self.send_error(404)
        body = PAGE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/result":
            self.server.result = json.loads(data)
            self.server.got_result.set()
        elif self.path == "/log":
            self.server.log.append(data.decode(errors="replace"))
        else:
            return self.send_error(404)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class ChromiumPublisher:
    """Starts the page server and Chromium at once; result() waits for the page."""

    def __init__(self, workdir, janus_url, plugin, body, *, seconds=5.0, codec=None,
                 label="data", messages=(), end="leave", leave_body=None, delay=0.0,
                 connect_timeout=20.0, timeout=None, width=640, height=480, max_kbps=None,
                 extra_flags=()):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout or delay + seconds + connect_timeout + 30
        self.stderr_path = self.dir / "chromium.stderr"
        self.proc = None
        self._closed = False
        params = {"janus": janus_url, "plugin": plugin, "body": body, "seconds": seconds,
                  "codec": codec, "label": label, "messages": list(messages), "end": end,
                  "leaveBody": leave_body or {"request": "leave"},
                  "delay": delay, "connectTimeout": connect_timeout,
                  "width": width, "height": height, "maxKbps": max_kbps}
        self.server = _PageServer()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        url = (f"http://127.0.0.1:{self.server.server_port}/publish.html#"
               + urllib.parse.quote(json.dumps(params)))
        try:
            with open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [find_chromium(), *CHROMIUM_FLAGS, *extra_flags,
                     f"--user-data-dir={self.dir / 'profile'}", url],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    start_new_session=True)  # own process group: close() ends all of it
        except BaseException:
            self.close()
            raise
        self.started = time.monotonic()

    def wait_publishing(self, timeout=30):
        """Block until the page logged 'publishing' (ICE connected)."""
        deadline = time.monotonic() + timeout
        while "publishing" not in self.server.log:
            if self.server.got_result.is_set():
                raise RuntimeError(f"page finished before publishing: {self.server.result}")
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium not publishing within {timeout}s"
                                   f"{self.diagnostics()}")
            time.sleep(0.05)

    def result(self):
        try:
            deadline = self.started + self.timeout
            while not self.server.got_result.wait(0.1):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no result from the Chromium page within "
                                       f"{self.timeout:.0f}s{self.diagnostics()}")
            return self.server.result
        finally:
            self.close()

    def _check_alive(self):
        if self.proc.poll() is not None and not self.server.got_result.is_set():
            raise RuntimeError(f"Chromium exited with {self.proc.returncode} before the "
                               f"page posted a result{self.diagnostics()}")

    def diagnostics(self):
        return (f"\n--- page log ---\n{self.server.log[-20:]}"
                f"\n--- tail of {self.stderr_path} ---\n"
                f"{janus_env.log_tail(self.stderr_path, 30)}")

    def kill(self, sig=signal.SIGKILL):
        """Kill the whole browser (its process group) at once, e.g. mid-stream."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(10)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:  # children left in the group (renderer, zygote): end and await them
            deadline = time.monotonic() + 5
            try:
                while time.monotonic() < deadline:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--janus", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--body", default="{}")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--codec", default=None, help="preferred video codec, e.g. H264")
    ap.add_argument("--label", default="data")
    ap.add_argument("--messages", default="[]")
    ap.add_argument("--end", default="leave", choices=["leave", "hangup", "close"])
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    with ChromiumPublisher(a.workdir, a.janus, a.plugin, json.loads(a.body),
                           seconds=a.seconds, codec=a.codec, label=a.label,
                           messages=json.loads(a.messages), end=a.end) as pub:
        print(json.dumps({"result": pub.result()}), flush=True)


if __name__ == "__main__":
    main()
