#!/usr/bin/python3
"""Plays media files in headless Chromium (Debian `chromium`) and reports what it saw.

    results = play([path, ...])      # or: chromium_play.py FILE... (prints JSON)

A local HTTP server (with Range requests, as a real file server answers)
serves a page that loads each file in a <video>, plays it muted, seeks to the
middle and to the end, and for each reports:
  {"file", "can_play_type", "error" (MediaError code or null), "duration",
   "width", "height", "frames_played" (requestVideoFrameCallback while playing),
   "seeks": [{"to", "at", "nonblack"}],   # nonblack: share of canvas pixels not black
   "played_to" (currentTime reached while playing)}
"""

import json
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = r"""<!doctype html><html><body>
<canvas id="c" width="64" height="64"></canvas>
<script>
const files = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const post = (path, body) => fetch(path, {method: 'POST', body: JSON.stringify(body)});
const TYPES = {mp4: 'video/mp4', webm: 'video/webm', mkv: 'video/x-matroska'};
function wait(v, ev, ms) {
  return new Promise((resolve) => {
    let done = false;
    const t = setTimeout(() => { if (!done) { done = true; resolve(false); } }, ms);
    v.addEventListener(ev, () => { if (!done) { done = true; clearTimeout(t); resolve(true); } }, {once: true});
    v.addEventListener('error', () => { if (!done) { done = true; clearTimeout(t); resolve(false); } }, {once: true});
  });
}
function nonblack(v) {
  if (!v.videoWidth) return 0;
  const c = document.getElementById('c');
  const g = c.getContext('2d', {willReadFrequently: true});
  g.fillStyle = '#000'; g.fillRect(0, 0, 64, 64);
  g.drawImage(v, 0, 0, 64, 64);
  const d = g.getImageData(0, 0, 64, 64).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 48) n++;
  return n / (64 * 64);
}
async function one(f) {
  const ext = f.split('.').pop();
  const r = {file: f, can_play_type: document.createElement('video').canPlayType(TYPES[ext] || ''),
             error: null, duration: null, width: 0, height: 0, frames_played: 0, seeks: [], played_to: 0};
  const v = document.createElement('video');
  v.muted = true; v.preload = 'auto'; v.playsInline = true;
  document.body.appendChild(v);
  v.src = '/media/' + encodeURIComponent(f);
  const ok = await wait(v, 'loadedmetadata', 15000);
  if (!ok) { r.error = v.error ? v.error.code : 'timeout'; r.message = v.error ? v.error.message : ''; v.remove(); return r; }
  r.duration = v.duration; r.width = v.videoWidth; r.height = v.videoHeight;
  let frames = 0;
  const count = () => { frames++; v.requestVideoFrameCallback(count); };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(count);
  try { await v.play(); } catch (e) { r.play_error = String(e); }
  const until = performance.now() + Math.min(3000, Math.max(500, v.duration * 1000));
  while (performance.now() < until && !v.ended) await new Promise((res) => setTimeout(res, 50));
  v.pause();
  r.frames_played = frames; r.played_to = v.currentTime;
  for (const to of [v.duration / 2, Math.max(0, v.duration - 0.05)]) {
    v.currentTime = to;
    const seeked = await wait(v, 'seeked', 10000);
    await new Promise((res) => setTimeout(res, 100));
    r.seeks.push({to, at: v.currentTime, seeked, nonblack: nonblack(v)});
  }
  if (v.error) { r.error = v.error.code; r.message = v.error.message; }
  v.remove();
  return r;
}
(async () => {
  const out = [];
  for (const f of files) {
    try { out.push(await one(f)); } catch (e) { out.push({file: f, error: String(e)}); }
  }
  await post('/result', out);
})();
</script></body></html>
"""

FLAGS = ["--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
         "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync"]


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    raise FileNotFoundError("chromium not found (apt-get install chromium)")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files  # name -> path
        self.result = None
        self.done = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0].split("#")[0]
        if path == "/play.html":
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        from urllib.parse import unquote
        name = unquote(path[len("/media/"):]) if path.startswith("/media/") else None
        if name not in self.server.files:
            return self.send_error(404)
        data = Path(self.server.files[name]).read_bytes()
        ctype = {".mp4": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska"}.get(
            Path(name).suffix, mimetypes.guess_type(name)[0] or "application/octet-stream")
        rng = self.headers.get("Range")
        start, end = 0, len(data) - 1
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].split(",")[0].partition("-")
            if a:
                start = int(a)
                end = int(b) if b else end
            else:
                start = max(0, len(data) - int(b))
            end = min(end, len(data) - 1)
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        try:
            self.wfile.write(data[start:end + 1])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/result":
            self.server.result = json.loads(data)
            self.server.done.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def play(paths, timeout=180):
    """Plays each file in Chromium; returns one result dict per file (see above)."""
    from urllib.parse import quote
    files = {}
    for p in paths:
        name = Path(p).name
        files[name] = str(p)
    server = _Server(files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/play.html#" + quote(json.dumps(list(files)))
    with tempfile.TemporaryDirectory(prefix="roomrec-chromium-") as profile:
        err = open(Path(profile) / "stderr", "wb")
        proc = subprocess.Popen([find_chromium(), *FLAGS, f"--user-data-dir={profile}/p", url],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        try:
            if not server.done.wait(timeout):
                raise TimeoutError("no result from the Chromium page within %ds" % timeout)
            return server.result
        finally:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait()
            err.close()
            server.shutdown()


if __name__ == "__main__":
    print(json.dumps(play(sys.argv[1:]), indent=2))
