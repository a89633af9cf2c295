"""Shared pieces of the hostile-input suite: the worker and CLI as processes
(helpers of ../test_worker.py), hostile HTTP peers, peak RSS and a /healthz
probe. Every wait is a poll with a stated upper bound, never a speed claim."""
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT / "tests" / "s3"))

import test_worker as tw  # noqa: E402  (Worker, HookReceiver, record_room, wait_until, ...)

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
SECRET = tw.SECRET
WAIT = tw.WAIT
Worker = tw.Worker
HookReceiver = tw.HookReceiver
wait_until = tw.wait_until
record_room = tw.record_room

# custom_s3 targets on this machine are refused by default (item 5): the
# tests that need a local hostile endpoint allow loopback explicitly.
ALLOW_LOOPBACK = ("--custom-s3-allow", "127.0.0.0/8")


def build_path(*parts):
    return os.path.join(os.path.abspath(BUILD), *parts)


def cli_path():
    return build_path("src", "bin", "convert_record_cli")


def rss_kib(pid):
    """(current RSS, peak RSS) of a process in KiB, from /proc."""
    cur = peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


def healthz_within(port, seconds=1.0):
    """True when GET /healthz answers 200 within `seconds` (the issue's bound)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=seconds) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def assert_alive_and_answering(w):
    assert w.proc.poll() is None, f"worker exited ({w.proc.returncode}): {w.log_text()[-3000:]}"
    assert healthz_within(w.port), "no /healthz answer within 1 s"


class HostileEndpoint:
    """An HTTP server that answers every request the same way: `status` with
    `body` (bytes), optionally sent at `rate` bytes/s. Request bodies are read
    (and dropped) first. Counts requests."""

    def __init__(self, status=403, body=b"", rate=None, content_type="application/xml", delay=0.0):
        self.requests = 0
        self.lock = threading.Lock()
        ep = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                with ep.lock:
                    ep.requests += 1
                n = int(self.headers.get("Content-Length", 0) or 0)
                while n > 0:
                    chunk = self.rfile.read(min(n, 65536))
                    if not chunk:
                        break
                    n -= len(chunk)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if rate is None:
                        self.wfile.write(body)
                    else:
                        for i in range(0, len(body), max(1, rate // 10)):
                            self.wfile.write(body[i:i + max(1, rate // 10)])
                            self.wfile.flush()
                            time.sleep(0.1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def s3_uri(self, key="AKIDHOSTILE", secret="hostile-secret-0123", bucket="out"):
        return f"http://{key}:{secret}@127.0.0.1:{self.port}/{bucket}/x?path_style=true"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def read_state_files(state_dir):
    """Every job state file, parsed as strict UTF-8 JSON."""
    out = {}
    for p in pathlib.Path(state_dir).glob("*.json"):
        out[p.stem] = json.loads(p.read_bytes().decode("utf-8"))
    return out


def rename_peer(room_dir, new_name):
    """Renames the first peer folder of a local recording; returns the old name."""
    peers = sorted(p for p in room_dir.iterdir() if p.is_dir())
    old = peers[0]
    os.rename(old, room_dir / new_name)
    return old.name
