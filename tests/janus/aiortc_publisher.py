#!/usr/bin/python3
"""An aiortc WebRTC publisher for Janus plugins: Opus (a tone) + VP8 (a moving
pattern) + one data channel, for N seconds, then leave / hang up / close.

As a module: `await publish(...)` returns the result dict, or
`PublisherProcess(...)` runs this file as a separate process (so a test can
SIGKILL it mid-stream). As a script: prints `{"status": "publishing"}` once ICE
is connected, then the result as one JSON line on stdout.

Data-channel messages are JSON values: a string is sent as text,
{"b64": "..."} as binary. The result lists them in the same form, in send order.
"""

import argparse
import asyncio
import base64
import fractions
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import janus_env  # noqa: E402

try:
    import av
    import numpy as np
    from aiortc import (MediaStreamTrack, RTCPeerConnection, RTCRtpSender,
                        RTCSessionDescription)
    from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
except ImportError as e:  # never skip silently: tests assert on this message
    raise ImportError(f"aiortc publisher needs Debian's python3-aiortc under "
                      f"/usr/bin/python3: {e}") from e


class ToneTrack(MediaStreamTrack):
    """48 kHz mono s16 sine (frequency in Hz), 20 ms frames, real-time paced."""
    kind = "audio"

    def __init__(self, freq=440.0, rate=48000):
        super().__init__()
        self.freq, self.rate, self.frames = freq, rate, 0
        self._samples = rate // 50
        self._start = None

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            await asyncio.sleep(self._start + self.frames * 0.02 - time.time())
        t = (np.arange(self._samples) + self.frames * self._samples) / self.rate
        pcm = (8000 * np.sin(2 * math.pi * self.freq * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self.frames * self._samples
        frame.time_base = fractions.Fraction(1, self.rate)
        self.frames += 1
        return frame


class PatternTrack(VideoStreamTrack):
    """30 fps YUV frames: a bright bar sweeping over a colour gradient."""

    def __init__(self, width=640, height=480):
        super().__init__()
        self.w, self.h, self.frames = width, height, 0
        x = np.arange(width, dtype=np.uint16)
        self._y = np.tile((x * 160 // width + 40).astype(np.uint8), (height, 1))
        self._uv = np.concatenate([np.full(width * height // 4, 90, np.uint8),
                                   np.full(width * height // 4, 200, np.uint8)])

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        y = self._y.copy()
        bar = (self.frames * 8) % self.w
        y[:, bar:bar + self.w // 16] = 235
        yuv = np.concatenate([y.ravel(), self._uv]).reshape(-1, self.w)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


def decode_message(m):
    if isinstance(m, str):
        return m
    if isinstance(m, dict) and "b64" in m:
        return base64.b64decode(m["b64"])
    raise ValueError(f"data-channel message must be a string or {{'b64': ...}}: {m!r}")


def encode_message(m):
    return m if isinstance(m, str) else {"b64": base64.b64encode(m).decode()}


def negotiated_codecs(sdp):
    """{kind: "name/clock[/ch]"} of the first payload type of each active m-line."""
    out, kind, first, rtpmap = {}, None, None, {}
    for line in sdp.splitlines() + ["m=end 0"]:
        if line.startswith("m="):
            if kind and first in rtpmap and kind not in out:
                out[kind] = rtpmap[first]
            parts = line[2:].split()
            kind = parts[0] if len(parts) > 3 and parts[1] != "0" else None
            first = parts[3] if kind else None
            rtpmap = {}
        elif line.startswith("a=rtpmap:"):
            pt, codec = line[9:].split(" ", 1)
            rtpmap[pt] = codec.strip()
    return out


async def _stats(obj, kind_type):
    report = await obj.getStats()
    for s in report.values():
        if s.type == kind_type:
            return s
    return None


async def publish(janus_url, plugin, body, *, seconds=5.0, label="data", messages=(),
                  end="leave", leave_body=None, delay=0.0, video_codec="VP8",
                  size=(640, 480), connect_timeout=20.0, on_publishing=None, requests=()):
    """Publish to `plugin` with message `body`; returns a JSON-able result dict.

    end: "leave" (plugin message leave_body, default {"request":"leave"}, then
    close), "hangup"
    (Janus API hangup), "close" (just close the PeerConnection), each followed
    by destroying the session; "vanish" closes nothing on the Janus side.
    requests: [[seconds after publishing, plugin message body], ...] sent in order while publishing
    (after the data messages); their replies go to res["request_replies"].
    """
    messages = [decode_message(m) for m in messages]
    res = {"joined": False, "codecs": {}, "sent": {}, "received": {}, "frames_sent": {},
           "frames_received": {"audio": 0, "video": 0}, "data_sent": [],
           "data_received": [], "data_channel_open": False, "events": [],
           "ice_states": [], "ice_connected": False, "error": None, "request_replies": []}
    t0 = time.monotonic()  # wall_seconds includes the delay
    if delay:
        await asyncio.sleep(delay)
    session = await asyncio.to_thread(janus_env.JanusSession, janus_url)
    pc = RTCPeerConnection()
    connected = asyncio.Event()
    drains = []
    handle = None
    try:
        handle = await asyncio.to_thread(session.attach, plugin)

        @pc.on("iceconnectionstatechange")
        def _ice():
            res["ice_states"].append(pc.iceConnectionState)
            if pc.iceConnectionState in ("connected", "completed"):
                res["ice_connected"] = True
                connected.set()

        @pc.on("track")
        def _track(track):
            async def drain():
                while True:
                    await track.recv()
                    res["frames_received"][track.kind] += 1
            drains.append(asyncio.ensure_future(drain()))

        audio, video = ToneTrack(), PatternTrack(*size)
        pc.addTrack(audio)
        vt = pc.addTransceiver(video, direction="sendrecv")
        if video_codec:
            caps = RTCRtpSender.getCapabilities("video").codecs
            pref = [c for c in caps if c.mimeType.lower() == f"video/{video_codec.lower()}"]
            if not pref:
                raise RuntimeError(f"aiortc cannot send {video_codec}")
            rtx = [c for c in caps if c.mimeType.lower() == "video/rtx"]
            vt.setCodecPreferences(pref + rtx)
        opened = asyncio.Event()
        if label:  # aiortc 1.4 cannot take an answer rejecting the data m-line (no ufrag)
            channel = pc.createDataChannel(label)
            channel.on("open", opened.set)
            channel.on("message", lambda m: res["data_received"].append(encode_message(m)))
        elif messages:
            raise ValueError("messages need a data channel label")

        await pc.setLocalDescription(await pc.createOffer())  # gathers all candidates
        reply = await asyncio.to_thread(
            handle.message, body, {"type": "offer", "sdp": pc.localDescription.sdp})
        jsep = reply.get("jsep")
        if not jsep:
            res["error"] = reply.get("plugindata", {}).get("data")
            return res
        res["joined"] = True
        await asyncio.to_thread(handle.trickle, None)
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], jsep["type"]))
        res["codecs"] = negotiated_codecs(jsep["sdp"])
        try:
            await asyncio.wait_for(connected.wait(), connect_timeout)
        except asyncio.TimeoutError:
            res["error"] = f"ICE not connected within {connect_timeout}s"
            return res
        res["connect_seconds"] = round(time.monotonic() - t0, 3)
        if on_publishing:
            on_publishing()
        start = time.monotonic()
        if messages:
            try:
                await asyncio.wait_for(opened.wait(), min(seconds, 10))
            except asyncio.TimeoutError:
                res["error"] = "data channel did not open"
        if label and channel.readyState == "open":
            res["data_channel_open"] = True
            for i, m in enumerate(messages):
                at = start + seconds * (i + 1) / (len(messages) + 1)
                await asyncio.sleep(max(0, at - time.monotonic()))
                channel.send(m)
                res["data_sent"].append(encode_message(m))
        for at, req in requests:
            await asyncio.sleep(max(0, start + at - time.monotonic()))
            r = await asyncio.to_thread(handle.message, req)
            res["request_replies"].append(r.get("plugindata", {}).get("data"))
        await asyncio.sleep(max(0, start + seconds - time.monotonic()))
        res["published_seconds"] = round(time.monotonic() - start, 3)
        res["frames_sent"] = {"audio": audio.frames, "video": video.frames}
        for t in pc.getTransceivers():
            out = await _stats(t.sender, "outbound-rtp")
            inn = await _stats(t.receiver, "inbound-rtp")
            if out:
                res["sent"][t.kind] = {"packets": out.packetsSent, "bytes": out.bytesSent}
            if inn:
                res["received"][t.kind] = {"packets": inn.packetsReceived}
        if end == "leave":
            r = await asyncio.to_thread(handle.message, leave_body or {"request": "leave"})
            res["leave_reply"] = r.get("plugindata", {}).get("data")
        elif end == "hangup":
            await asyncio.to_thread(handle.hangup)
        return res
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        for d in drains:
            d.cancel()
        if end != "vanish":
            await pc.close()
            await asyncio.to_thread(session.destroy)
        else:
            session.close()
        if handle:
            res["events"] = [janus_env.summarize_event(e) for e in handle.events()]
        res["wall_seconds"] = round(time.monotonic() - t0, 3)


class PublisherProcess:
    """This module run as a child process; stdout is parsed line by line."""

    def __init__(self, janus_url, plugin, body, *, seconds=5.0, label="data",
                 messages=(), end="leave", leave_body=None, delay=0.0, video_codec="VP8",
                 log_path=None, requests=()):
        args = [sys.executable, os.path.abspath(__file__), "--janus", janus_url,
                "--plugin", plugin, "--body", json.dumps(body), "--seconds", str(seconds),
                "--label", label or "", "--messages", json.dumps(list(messages)),
                "--end", end, "--leave-body", json.dumps(leave_body or {"request": "leave"}),
                "--delay", str(delay), "--video-codec", video_codec or "",
                "--requests", json.dumps([list(r) for r in requests])]
        self.stderr_path = log_path
        err = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=err, text=True)
        if log_path:
            err.close()
        self._publishing = threading.Event()
        self._lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._lines.append(line)
            if line.startswith('{"status": "publishing"'):
                self._publishing.set()

    def wait_publishing(self, timeout=30):
        if not self._publishing.wait(timeout):
            self.kill()
            raise TimeoutError(f"aiortc publisher not publishing within {timeout}s"
                               f"{self._stderr_tail()}")

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)

    def result(self, timeout=60):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"aiortc publisher still running after {timeout}s"
                               f"{self._stderr_tail()}")
        self._reader.join(5)
        for line in reversed(self._lines):
            if line.startswith('{"result"'):
                return json.loads(line)["result"]
        raise RuntimeError(f"aiortc publisher exited {self.proc.returncode} without a "
                           f"result{self._stderr_tail()}")

    def _stderr_tail(self):
        if not self.stderr_path:
            return ""
        return f"\n--- {self.stderr_path} ---\n{janus_env.log_tail(self.stderr_path, 30)}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--janus", required=True, help="Janus HTTP base URL")
    ap.add_argument("--plugin", required=True, help="e.g. janus.plugin.roomrec")
    ap.add_argument("--body", default="{}", help="message body (JSON) sent with the offer")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--label", default="data", help="data channel label ('' = none)")
    ap.add_argument("--messages", default="[]", help='JSON list: "text" or {"b64": ...}')
    ap.add_argument("--end", default="leave", choices=["leave", "hangup", "close", "vanish"])
    ap.add_argument("--leave-body", default='{"request": "leave"}', help="JSON for --end leave")
    ap.add_argument("--delay", type=float, default=0.0, help="wait before joining")
    ap.add_argument("--video-codec", default="VP8", help="preferred video codec ('' = default)")
    ap.add_argument("--requests", default="[]", help='JSON: [[seconds, {"request": ...}], ...] sent while publishing')
    a = ap.parse_args()

    def emit(obj):
        print(json.dumps(obj), flush=True)

    res = asyncio.run(publish(
        a.janus, a.plugin, json.loads(a.body), seconds=a.seconds, label=a.label or None,
        messages=json.loads(a.messages), end=a.end, leave_body=json.loads(a.leave_body),
        delay=a.delay, requests=json.loads(a.requests),
        video_codec=a.video_codec or None, on_publishing=lambda: emit({"status": "publishing"})))
    emit({"result": res})


if __name__ == "__main__":
    main()
