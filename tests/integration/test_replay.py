"""examples/rtp_replay as a process: a session recorded by examples/record_synthetic is replayed over UDP
into ffmpeg (reading the SDP rtp_replay writes), plain RTP and SRTP; the file ffmpeg writes must decode
without an error and last as long as the recording. Data-channel messages come out as JSON lines, from
rtp_replay and from the transmuxer, with the recorded times."""
import json
import os
import pathlib
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

SECONDS = 6


def exe(*parts):
    return os.path.join(BUILD, *parts)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec")
    r = subprocess.run([exe("examples", "record_synthetic"), "--out", str(out), "--peers", "1", "--seconds",
                        str(SECONDS), "--size", "320x240"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    room = r.stdout.strip().splitlines()[-1]
    peers = os.listdir(room)
    assert len(peers) == 1
    return room, peers[0]


def free_ports(n):
    """A base port with n free UDP ports above it (even, so RTP/RTCP pairs line up)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1] & ~1
        s.close()
        if base + n > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(t)
                t.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free UDP ports")


def udp_bound(port):
    """Whether some socket is bound to this UDP port (IPv4 or IPv6), from /proc."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            pass
    return False


def probe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def replay_into_ffmpeg(tmp_path, room, peer, srtp):
    base = free_ports(4)
    sdp = tmp_path / "out.sdp"
    received = tmp_path / "received.mkv"
    data = tmp_path / "data.jsonl"
    args = [exe("examples", "rtp_replay"), "--in", room, "--peer", peer, "--sdp-out", str(sdp), "--to",
            f"127.0.0.1:{base}", "--speed", "1", "--data-out", str(data), "--wait"]
    if srtp:
        args += ["--srtp-key", "random"]
    replay = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ffmpeg = None
    try:
        # The SDP is written before rtp_replay waits for its go.
        deadline = time.monotonic() + 60
        while not (sdp.exists() and sdp.read_text().count("m=") == 2):
            assert replay.poll() is None, replay.communicate()[1]
            assert time.monotonic() < deadline, "rtp_replay wrote no SDP"
            time.sleep(0.05)
        text = sdp.read_text()
        assert ("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in text) == srtp
        assert ("RTP/SAVP" in text) == srtp
        whitelist = "file,udp,rtp,srtp" if srtp else "file,udp,rtp"
        ffmpeg = subprocess.Popen(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist",
                                   whitelist, "-i", str(sdp), "-c", "copy", "-y", str(received)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Send only once ffmpeg listens on every RTP and RTCP port.
        while not all(udp_bound(p) for p in range(base, base + 4)):
            assert ffmpeg.poll() is None, ffmpeg.communicate()[1]
            assert time.monotonic() < deadline, "ffmpeg did not open its ports"
            time.sleep(0.05)
        out, err = replay.communicate("go\n", timeout=SECONDS * 4 + 60)
        assert replay.returncode == 0, err
        assert "0 send errors" in err
        # ffmpeg ends by itself once no packet has come for a while (its read timeout), writing the file.
        _, ff_err = ffmpeg.communicate(timeout=120)
    finally:
        for p in (replay, ffmpeg):
            if p and p.poll() is None:
                p.kill()
                p.wait()
    assert received.exists() and received.stat().st_size > 0, ff_err
    info = probe(received)
    kinds = sorted((s["codec_type"], s["codec_name"]) for s in info["streams"])
    assert kinds == [("audio", "opus"), ("video", "vp8")]
    duration = float(info["format"]["duration"])
    assert abs(duration - SECONDS) <= 1.0, duration
    # It decodes without a single error.
    dec = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(received), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    assert dec.returncode == 0 and dec.stderr.strip() == "", dec.stderr
    return data


@pytest.mark.parametrize("srtp", [False, True], ids=["rtp", "srtp"])
def test_replay_into_ffmpeg(tmp_path, recording, srtp):
    room, peer = recording
    data = replay_into_ffmpeg(tmp_path, room, peer, srtp)
    lines = [json.loads(x) for x in data.read_text().splitlines()]
    assert len(lines) == 1  # one chat message every 5 s, the first 2.5 s in
    assert lines[0]["label"] == "chat" and lines[0]["binary"] is False
    assert json.loads(lines[0]["text"]) == {"from": peer, "text": "hello at 2.5 s"}


def test_transmux_writes_data_channels_as_json_lines(tmp_path, recording):
    room, peer = recording
    out = tmp_path / "transmux"
    r = subprocess.run([exe("src", "bin", "convert_record_cli"), "--in-s3", room, "--transmux", "--transmux-out-path",
                        str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    (session_id, session), = summary["peers"][peer]["sessions"].items()
    chat = session["data"]["chat"]
    assert chat["path"] == f"{peer}-{session_id}-data-chat.jsonl"
    assert chat["messages"] == 1
    (line,) = [json.loads(x) for x in (out / chat["path"]).read_text().splitlines()]
    assert line["time"] == chat["start"] == chat["end"]
    assert line["binary"] is False
    assert json.loads(line["text"])["text"] == "hello at 2.5 s"
    # The session's first row is its join; the message is 2.5 s after it.
    first_track_start = min(t["start"] for tr in session["track"].values() for t in tr["timeline"])
    assert 2400 <= line["time"] - first_track_start <= 2600
    result = json.loads(r.stdout)
    assert [f["path"] for f in result["transmux"]["data_files"]] == [chat["path"]]


def test_usage_errors(tmp_path, recording):
    room, peer = recording
    run = lambda *a: subprocess.run([exe("examples", "rtp_replay"), *a], capture_output=True, text=True, timeout=60)
    assert run().returncode == 2
    assert run("--in", room, "--peer", peer, "--sdp-out", str(tmp_path / "x.sdp"), "--to", "nohost").returncode == 2
    assert run("--in", room, "--peer", peer, "--sdp-out", str(tmp_path / "x.sdp"), "--to", "127.0.0.1:9",
               "--speed", "-1").returncode == 2
    assert run("--in", room, "--peer", peer, "--sdp-out", str(tmp_path / "x.sdp"), "--to", "127.0.0.1:9",
               "--srtp-key", "inline:short").returncode == 2
    r = run("--in", room, "--peer", "nobody", "--sdp-out", str(tmp_path / "x.sdp"), "--to", "127.0.0.1:9")
    assert r.returncode == 1 and "nobody" in r.stderr
