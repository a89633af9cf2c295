"""examples/rtp_recorder as a process: it records what a live ffmpeg sends
(VP8 + Opus over SRTP with an SDES key, or plain RTP), described by the SDP
file ffmpeg writes; the recording transmuxes with convert_record_cli into
files that ffprobe and ffmpeg decode. A wrong key gives decrypt-failure
counts and no media, and bad SDP files are refused with the line at fault."""
import base64
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

SUITE = "AES_CM_128_HMAC_SHA1_80"
CLIP_SECONDS = 4


def recorder_path():
    return os.path.join(BUILD, "examples", "rtp_recorder")


def cli_path():
    return os.path.join(BUILD, "src", "bin", "convert_record_cli")


def wait_until(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def new_key():
    return base64.b64encode(os.urandom(30)).decode()


class PortPair:
    """An even UDP port whose odd neighbour is free too (RTP, RTCP), held
    open until released so nothing else takes it meanwhile."""

    def __init__(self, taken):
        for _ in range(200):
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port % 2 == 0 and port + 1 <= 65535 and port not in taken:
                b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    b.close()
                else:
                    self.port, self.socks = port, [a, b]
                    return
            a.close()
        raise RuntimeError("no free UDP port pair on 127.0.0.1")

    def release(self):
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A few seconds of VP8 (moving test pattern) and Opus (440 Hz) to stream."""
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    r = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
                        "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(CLIP_SECONDS),
                        "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-g", "15",
                        "-c:a", "libopus", "-b:a", "48k", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return path


def ffmpeg_stream(clip, video_port, audio_port, sdp_file, keys=(None, None), rtcp_mux=False, realtime=True,
                  seconds=None):
    """The ffmpeg command sending the clip as two RTP (or SRTP, a key each)
    outputs and writing their SDP; with rtcp_mux the video's RTCP goes to its
    RTP port."""
    cmd = ["ffmpeg", "-v", "error", "-y"]
    if realtime:
        cmd += ["-re"]
    if seconds:
        cmd += ["-t", str(seconds)]  # an input option: both outputs stop there
    cmd += ["-i", str(clip)]
    for stream, port, key in (("0:v", video_port, keys[0]), ("0:a", audio_port, keys[1])):
        srtp = ["-srtp_out_suite", SUITE, "-srtp_out_params", key] if key else []
        query = "?pkt_size=1200" + (f"&rtcpport={port}" if rtcp_mux else "") if stream == "0:v" else ""
        cmd += ["-map", stream, "-c", "copy", "-f", "rtp", *srtp, f"{'srtp' if key else 'rtp'}://127.0.0.1:{port}{query}"]
    return cmd + ["-sdp_file", str(sdp_file)]


class Session:
    """One recording: ffmpeg writes the SDP (sending a moment of media to
    ports the test holds), rtp_recorder starts on that SDP file, then ffmpeg
    streams the clip live."""

    def __init__(self, tmp_path, clip, keys=(None, None), rtcp_mux=False):
        self.tmp, self.clip, self.keys, self.rtcp_mux = tmp_path, clip, keys, rtcp_mux
        self.video, self.audio = PortPair(set()), None
        self.audio = PortPair({self.video.port, self.video.port + 1})
        self.sdp = tmp_path / "stream.sdp"
        r = subprocess.run(ffmpeg_stream(clip, self.video.port, self.audio.port, self.sdp, keys, rtcp_mux,
                                         realtime=False, seconds=0.3), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        self.video.release()
        self.audio.release()
        self.out = tmp_path / "records"

    def start_recorder(self, *extra, sdp=None):
        self.stderr_path = self.tmp / "recorder.err"
        self.stderr_file = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([recorder_path(), "--sdp", str(sdp or self.sdp), "--out", str(self.out),
                                      "--app", "app", "--room", "room", "--peer", "ffmpeg", *extra],
                                     stdout=subprocess.PIPE, stderr=self.stderr_file, text=True)
        wait_until("rtp_recorder to listen",
                   lambda: "rtp_recorder: listening" in self.stderr_path.read_text() or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.stderr_path.read_text()

    def stream(self, seconds=None):
        sdp2 = self.tmp / "stream2.sdp"
        r = subprocess.run(ffmpeg_stream(self.clip, self.video.port, self.audio.port, sdp2, self.keys, self.rtcp_mux,
                                         seconds=seconds), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        # The live run described the same streams as the SDP the recorder read.
        assert sdp2.read_text() == self.sdp.read_text()

    def stop(self, send_sigint=True, timeout=60):
        if send_sigint:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=timeout)
        self.stderr_file.close()
        return self.proc.returncode, out, self.stderr_path.read_text()


def track_counts(stderr, name):
    m = re.search(r"rtp_recorder: track \d+ " + name + r" \((\w+)/\d+ pt \d+, [^)]*\): rtp (\d+) accepted, (\d+) "
                  r"malformed, (\d+) decrypt failures, (\d+) other payload types, (\d+) dropped; rtcp (\d+) accepted, "
                  r"(\d+) malformed, (\d+) decrypt failures", stderr)
    assert m, stderr
    keys = ["codec", "rtp", "rtp_malformed", "rtp_decrypt", "other_pt", "dropped", "rtcp", "rtcp_malformed",
            "rtcp_decrypt"]
    return {k: (m.group(i + 1) if i == 0 else int(m.group(i + 1))) for i, k in enumerate(keys)}


def transmux(room, out):
    return subprocess.run([cli_path(), "--in-s3", room, "--transmux", "--transmux-out-path", str(out)],
                          capture_output=True, text=True, timeout=300)


def probe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "format=duration:stream=codec_type,codec_name,width,height,nb_read_frames", "-of", "json",
                        str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def decodes_cleanly(path):
    r = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0 and r.stderr.strip() == "", r.stderr


def record_and_check(tmp_path, clip, keys=(None, None), rtcp_mux=False):
    s = Session(tmp_path, clip, keys, rtcp_mux)
    sdp_text = s.sdp.read_text()
    for key in keys:
        assert (("a=crypto:1 " + SUITE + " inline:" + key) in sdp_text) if key else "a=crypto" not in sdp_text
    sdp = s.sdp
    if rtcp_mux:  # ffmpeg does not say so in its SDP
        sdp = tmp_path / "mux.sdp"
        sdp.write_text(sdp_text.replace("a=rtpmap:96 VP8/90000\n", "a=rtpmap:96 VP8/90000\na=rtcp-mux\n"))
    s.start_recorder(sdp=sdp)
    s.stream()
    code, out, err = s.stop()
    assert code == 0, err
    mode = "plain RTP" if not keys[0] else "SRTP, decrypted by the recorder" if keys[0] == keys[1] else \
        "SRTP, a key per stream"
    assert "; " + mode + "\n" in err, err
    assert f"(RTCP {'muxed' if rtcp_mux else 'port ' + str(s.video.port + 1)})" in err, err
    video, audio = track_counts(err, "video0"), track_counts(err, "audio1")
    assert video["codec"] == "vp8" and audio["codec"] == "opus"
    # 15 fps VP8 in several packets a frame, 50 Opus packets a second.
    assert video["rtp"] >= CLIP_SECONDS * 15 and audio["rtp"] >= CLIP_SECONDS * 40, err
    for t in (video, audio):
        assert t["rtp_malformed"] == t["rtp_decrypt"] == t["rtcp_decrypt"] == t["rtcp_malformed"] == 0, err
        assert t["other_pt"] == t["dropped"] == 0, err
        assert t["rtcp"] >= 1, err  # ffmpeg sends a sender report on each stream
    assert "failed SRTP authentication" not in err

    room = out.strip().splitlines()[-1]
    assert room.startswith(str(s.out) + "/app/room/"), out
    r = transmux(room, tmp_path / "t")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    files = result["transmux"]["files"]
    assert sorted(f["track"] for f in files) == ["audio1", "video0"], files
    for f in files:
        path = tmp_path / "t" / f["path"]
        info = probe(path)
        assert len(info["streams"]) == 1
        stream = info["streams"][0]
        ok, msg = decodes_cleanly(path)
        assert ok, (f["path"], msg)
        duration = float(info["format"]["duration"])
        assert CLIP_SECONDS - 1.5 <= duration <= CLIP_SECONDS + 1.5, (f, duration)
        if f["track"] == "video0":
            assert (stream["codec_type"], stream["codec_name"]) == ("video", "vp8")
            assert (stream["width"], stream["height"]) == (320, 240)
            assert int(stream["nb_read_frames"]) >= (CLIP_SECONDS - 1) * 15, stream
        else:
            assert (stream["codec_type"], stream["codec_name"]) == ("audio", "opus")
            assert int(stream["nb_read_frames"]) >= (CLIP_SECONDS - 1) * 50, stream


def test_srtp_stream_from_ffmpeg_is_recorded_and_transmuxes(tmp_path, clip):
    key = new_key()
    record_and_check(tmp_path, clip, (key, key))


def test_plain_rtp_stream_from_ffmpeg_is_recorded_and_transmuxes(tmp_path, clip):
    record_and_check(tmp_path, clip)


def test_a_key_per_stream_and_rtcp_muxed_on_the_rtp_port(tmp_path, clip):
    record_and_check(tmp_path, clip, (new_key(), new_key()), rtcp_mux=True)


def test_wrong_key_counts_decrypt_failures_and_records_no_media(tmp_path, clip):
    key = new_key()
    s = Session(tmp_path, clip, (key, key))
    wrong = tmp_path / "wrong.sdp"
    text = s.sdp.read_text()
    assert text.count(key) == 2
    wrong.write_text(text.replace(key, new_key()))
    # Stops by itself (--seconds) well after the 2 s of media sent.
    s.start_recorder("--seconds", "8", sdp=wrong)
    s.stream(seconds=2)
    code, out, err = s.stop(send_sigint=False)
    assert code == 3, err
    for name in ("video0", "audio1"):
        t = track_counts(err, name)
        assert t["rtp"] == 0 and t["rtp_decrypt"] > 0 and t["rtcp"] == 0, err
        assert f"rtp_recorder: {name}: a packet from 127.0.0.1:" in err
    assert re.search(r"rtp_recorder: \d+ packets failed SRTP authentication and were dropped \(not recorded\): "
                     r"the a=crypto key in \S+wrong.sdp does not match the sender's key", err), err
    assert "no RTP packet was recorded (every packet failed SRTP authentication)" in err
    assert re.search(r"session \d+: 0 bytes in", err), err
    room = out.strip().splitlines()[-1]

    # The recording holds the session and its tracks but no media: the
    # converter either refuses it or writes no media file with a frame in it.
    r = transmux(room, tmp_path / "t")
    if r.returncode != 0:
        assert r.stderr.strip(), "a failed conversion says why"
        return
    assert all(f["frames"] == 0 for f in json.loads(r.stdout)["transmux"]["files"]), r.stdout
    for path in (tmp_path / "t").iterdir():
        if path.name != "summary.json":
            info = probe(path)
            assert all(int(st.get("nb_read_frames", 0)) == 0 for st in info["streams"]), (path, info)


def run_recorder_on(tmp_path, text, *extra):
    sdp = tmp_path / "in.sdp"
    sdp.write_text(text)
    return subprocess.run([recorder_path(), "--sdp", str(sdp), "--out", str(tmp_path / "records"), "--app", "a",
                           "--room", "r", "--peer", "p", "--seconds", "1", *extra],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("text,message", [
    ("", "empty description"),
    ("v=0\nm=video 5000 RTP/AVP 96\na=rtpmap:96 VP8\n", "line 3: a=rtpmap:96 has no clock rate"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=video 70000 RTP/AVP 96\n", "line 3: m= port must be 0..65535"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/SAVP 96\na=rtpmap:96 VP8/90000\n",
     "line 3: m=video is RTP/SAVP but has no a=crypto key"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=audio 5000 RTP/AVP 96\na=rtpmap:96 opus/48000/2\n"
     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\n", "no usable a=crypto key"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 UDP/TLS/RTP/SAVPF 96\n", "DTLS-SRTP keys cannot come from an SDP file"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=video 5000 RTP/AVP 96\n", "has no payload type with a known codec"),
    ("v=0\nc=IN IP4 127.0.0.1\nm=application 5000 UDP/DTLS/SCTP webrtc-datachannel\n",
     "has no audio or video RTP stream"),
])
def test_bad_sdp_files_are_refused_with_the_line_at_fault(tmp_path, text, message):
    r = run_recorder_on(tmp_path, text)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
    assert not (tmp_path / "records").exists() or not any((tmp_path / "records").rglob("*.rec"))


def test_usage_errors(tmp_path):
    r = subprocess.run([recorder_path(), "--sdp", str(tmp_path / "missing.sdp"), "--out", str(tmp_path), "--app",
                        "a", "--room", "r", "--peer", "p"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "cannot open" in r.stderr
    r = subprocess.run([recorder_path(), "--sdp", "x.sdp"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--out is required" in r.stderr and "usage:" in r.stderr
    r = subprocess.run([recorder_path(), "--sdp", "x", "--out", "o", "--app", "a", "--room", "r", "--peer", "p",
                        "--seconds", "0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--seconds must be a number" in r.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path):
    held = PortPair(set())
    try:
        r = run_recorder_on(tmp_path, f"v=0\nc=IN IP4 127.0.0.1\nm=audio {held.port} RTP/AVP 0\n")
        assert r.returncode == 1, r.stderr
        assert f"cannot bind UDP 127.0.0.1:{held.port}: Address already in use" in r.stderr
    finally:
        held.release()


def test_junk_datagrams_are_counted_and_dropped(tmp_path):
    """Whatever arrives on the ports, rtp_recorder counts it and carries on;
    only the one valid packet is recorded."""
    import random
    ports = PortPair(set())
    ports.release()
    sdp = tmp_path / "in.sdp"
    sdp.write_text(f"v=0\nc=IN IP4 127.0.0.1\nm=video {ports.port} RTP/AVP 96 97\na=rtpmap:96 VP8/90000\n"
                   "a=rtpmap:97 rtx/90000\na=fmtp:97 apt=96\n")
    s = Session.__new__(Session)
    s.tmp, s.out = tmp_path, tmp_path / "records"
    s.start_recorder(sdp=sdp)
    rng = random.Random(1)
    junk = [b"", b"\x80", b"\x80\x60" + b"\x00" * 9,  # too short for RTP
            b"\x40\x60" + bytes(10),                     # version 1
            b"\x80\xc8" + bytes(rng.randrange(256) for _ in range(30)),  # RTCP type, garbage body
            b"\x80\x61" + bytes(12),                     # payload type 97 (rtx): listed, not recorded
            b"\x80\x32" + bytes(12),                     # payload type 50: no m= line lists it
            bytes(3000)]
    # Random datagrams whose version is never 2 (their first byte is below 0x80).
    junk += [bytes([rng.randrange(0x80)]) + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1400)))
             for _ in range(300)]
    valid = b"\x80\xe0\x00\x01" + (1234).to_bytes(4, "big") + (0x11223344).to_bytes(4, "big") + b"\x10\x00\x9d\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.sendto(valid, ("127.0.0.1", ports.port))
        wait_until("the valid packet", lambda: "video0: first packet from 127.0.0.1:" in s.stderr_path.read_text())
        assert f"(ssrc {0x11223344})" in s.stderr_path.read_text()
        for d in junk:  # the crafted ones first: these are never dropped by a full socket buffer
            tx.sendto(d, ("127.0.0.1", ports.port))
            tx.sendto(d[:40], ("127.0.0.1", ports.port + 1))
    code, out, err = s.stop()
    assert code == 0, err
    t = track_counts(err, "video0")
    assert t["rtp"] == 1, err
    assert t["rtp_malformed"] >= 2 and t["other_pt"] >= 1 and t["rtcp_malformed"] >= 3, err
    assert re.search(rf"127.0.0.1:{ports.port}: \d+ packets of a payload type no m= line lists", err), err
    assert out.strip().splitlines()[-1].startswith(str(s.out) + "/app/room/")
