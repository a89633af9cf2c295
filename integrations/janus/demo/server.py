#!/usr/bin/python3
"""The Janus demo's web server: serves the page, passes /janus/* through to
Janus's HTTP API (so the page needs one origin), mints demo join tokens,
lists the recordings and converts one on request.

Demo only: anyone who can reach it gets a token. A real application mints
tokens in its own backend after its own authentication.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt  # Debian python3-jwt

HERE = os.path.dirname(os.path.abspath(__file__))
NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def safe_name(value):
    return bool(value) and len(value) <= 64 and set(value) <= NAME_OK and value not in (".", "..")


class Demo:
    def __init__(self, args):
        self.args = args
        self.recordings = os.path.abspath(args.recordings)
        self.converted = os.path.abspath(args.converted)

    def token(self, room, peer, record):
        claims = {"app": self.args.app, "room": room, "peer": peer, "record": record,
                  "exp": int(time.time()) + 3600}
        return jwt.encode(claims, self.args.secret, algorithm="HS256")

    def listing(self):
        """Rooms -> recordings -> peers -> sessions -> chunks, as on disk."""
        out = []
        base = os.path.join(self.recordings, self.args.app)
        for room in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            for rec_id in sorted(os.listdir(os.path.join(base, room)), reverse=True):
                rec_dir = os.path.join(base, room, rec_id)
                peers = []
                for peer in sorted(os.listdir(rec_dir)):
                    for session in sorted(os.listdir(os.path.join(rec_dir, peer))):
                        sdir = os.path.join(rec_dir, peer, session)
                        chunks = sorted(f for f in os.listdir(sdir) if f.endswith(".rec"))
                        peers.append({"peer": peer, "session": session, "chunks": len(chunks),
                                      "bytes": sum(os.path.getsize(os.path.join(sdir, c)) for c in chunks)})
                conv = os.path.join(self.converted, room, rec_id)
                files = sorted(os.listdir(conv)) if os.path.isdir(conv) else []
                out.append({"room": room, "record_id": rec_id, "sessions": peers,
                            "files": [f"/files/{room}/{rec_id}/{f}" for f in files]})
        return out

    def convert(self, room, rec_id):
        src = os.path.join(self.recordings, self.args.app, room, rec_id)
        dst = os.path.join(self.converted, room, rec_id)
        if not os.path.isdir(src):
            return 404, {"error": "no such recording"}
        os.makedirs(dst, exist_ok=True)
        cmd = [self.args.cli, "--in-s3", src, "--transmux", "--transmux-out-path", dst,
               "--compose-audio", "--compose-video", "--compose-out-path", os.path.join(dst, "composed.webm"), "-q"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            return 500, {"error": "conversion failed", "detail": p.stderr[-2000:]}
        return 200, {"result": json.loads(p.stdout), "files": [f"/files/{room}/{rec_id}/{f}" for f in sorted(os.listdir(dst))]}


def make_handler(demo):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if demo.args.verbose:
                sys.stderr.write("demo: " + fmt % args + "\n")

        def send_json(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def send_file(self, path, ctype):
            with open(path, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def proxy(self, body=None):
            url = demo.args.janus.rstrip("/") + self.path[len("/janus"):]
            req = urllib.request.Request(url, data=body, method=self.command,
                                         headers={"Content-Type": "application/json"} if body else {})
            try:
                with urllib.request.urlopen(req, timeout=70) as r:
                    data, code = r.read(), r.status
            except urllib.error.HTTPError as e:
                data, code = e.read(), e.code
            except OSError as e:
                return self.send_json(502, {"error": f"Janus unreachable: {e}"})
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            u = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            if u.path in ("/", "/index.html"):
                return self.send_file(os.path.join(HERE, "index.html"), "text/html; charset=utf-8")
            if u.path.startswith("/janus"):
                return self.proxy()
            if u.path == "/api/token":
                room, peer = q.get("room", ""), q.get("peer", "")
                if not safe_name(room) or not safe_name(peer):
                    return self.send_json(400, {"error": "room and peer: 1-64 of [A-Za-z0-9._-]"})
                return self.send_json(200, {"token": demo.token(room, peer, q.get("record", "true") == "true")})
            if u.path == "/api/recordings":
                return self.send_json(200, {"app": demo.args.app, "recordings": demo.listing()})
            if u.path.startswith("/files/"):
                parts = u.path.split("/")[2:]
                if len(parts) != 3 or not all(safe_name(p) for p in parts):
                    return self.send_json(404, {"error": "not found"})
                path = os.path.join(demo.converted, *parts)
                if not os.path.isfile(path):
                    return self.send_json(404, {"error": "not found"})
                ctype = {"webm": "video/webm", "mkv": "video/x-matroska", "json": "application/json",
                         "jsonl": "text/plain; charset=utf-8"}.get(path.rsplit(".", 1)[-1], "application/octet-stream")
                return self.send_file(path, ctype)
            if u.path == "/api/result":
                return self.send_json(200, demo.last_result or {})
            return self.send_json(404, {"error": "not found"})

        def do_POST(self):
            u = urlparse(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            if n > 1 << 20:
                return self.send_json(413, {"error": "too large"})
            body = self.rfile.read(n) if n else b""
            if u.path.startswith("/janus"):
                return self.proxy(body)
            if u.path == "/api/convert":
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                room, rec_id = q.get("room", ""), q.get("record_id", "")
                if not safe_name(room) or not safe_name(rec_id):
                    return self.send_json(400, {"error": "bad room or record_id"})
                code, res = demo.convert(room, rec_id)
                return self.send_json(code, res)
            if u.path == "/api/result":  # the page reports what it did (self-test)
                demo.last_result = json.loads(body or b"{}")
                return self.send_json(200, {})
            return self.send_json(404, {"error": "not found"})

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--janus", default="http://127.0.0.1:8088/janus")
    ap.add_argument("--app", default="demo")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--recordings", required=True)
    ap.add_argument("--converted", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    demo = Demo(args)
    demo.last_result = None
    server = ThreadingHTTPServer((args.listen, args.port), make_handler(demo))
    server.daemon_threads = True
    print(f"demo page on http://{'localhost' if args.listen in ('127.0.0.1', '0.0.0.0') else args.listen}:{args.port}/",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
