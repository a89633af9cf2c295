"""Issue 18: the MP4 outputs, made by convert_record_cli as a user would, checked by
ffprobe, a full ffmpeg decode, and played by headless Chromium (Debian `chromium`):
each file loads in a <video>, plays, seeks to the middle and to the end, and
shows pictures that are not black.

Outputs:
  - H264 (libx264 as record_synthetic sends it) + Opus, --transmux-format mp4, faststart and fragmented
  - AV1 (libaom, in a Janus .mjr folder written here) --transmux (auto -> mp4)
  - composed H264 + AAC and H264 + Opus MP4 (--compose-codec h264 --compose-audio-codec aac|opus)

Each test appends what Chromium reported to $ROOMREC_BUILD_DIR/meson-logs/mp4_chromium.json.
"""
import json
import os
import pathlib
import struct
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from chromium_play import play  # noqa: E402
from test_cli import cli, decodes_cleanly, record  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")


def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "format=duration,format_name:stream=codec_type,codec_name,width,height,channels,nb_read_frames",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def report(name, results):
    if not BUILD:
        return
    log = pathlib.Path(BUILD) / "meson-logs" / "mp4_chromium.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(log.read_text()) if log.exists() else {}
    old[name] = results
    log.write_text(json.dumps(old, indent=1))


def check_played(results, files):
    """Every file played in Chromium: no error, the duration ffprobe gives, frames shown, seeks land."""
    assert len(results) == len(files)
    for r, f in zip(results, files):
        info = ffprobe(f)
        duration = float(info["format"]["duration"])
        video = [s for s in info["streams"] if s["codec_type"] == "video"]
        assert r.get("error") is None, r
        assert r["can_play_type"] in ("maybe", "probably"), r
        assert abs(r["duration"] - duration) < 0.25, (r, duration)
        assert r["played_to"] > min(0.4, duration / 2), r
        assert [s["seeked"] for s in r["seeks"]] == [True, True], r
        assert abs(r["seeks"][1]["at"] - max(0, r["duration"] - 0.05)) < 0.01, r
        if video:
            assert (r["width"], r["height"]) == (video[0]["width"], video[0]["height"]), r
            assert r["frames_played"] > 0, r
            assert all(s["nonblack"] > 0.2 for s in r["seeks"]), r  # a picture, not a black frame
        else:
            assert r["width"] == 0 and r["frames_played"] == 0, r


@pytest.fixture(scope="module")
def h264_room(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec-h264")
    return record(str(root), "--peers", "2", "--seconds", "4", "--size", "320x240", "--video", "h264")


@pytest.mark.parametrize("mode", ["faststart", "fragmented"])
def test_transmuxed_h264_and_opus_mp4_play_in_chromium(h264_room, tmp_path, mode):
    out = tmp_path / "t"
    r = cli("--in-s3", h264_room, "--transmux", "--transmux-out-path", str(out), "--transmux-format", "mp4",
            "--transmux-mp4-mode", mode, "-q")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    files = result["transmux"]["files"]
    assert len(files) == 4
    assert all(f["container"] == "mp4" and f["path"].endswith(".mp4") for f in files), files
    assert {f["codec"] for f in files} == {"h264", "opus"}
    assert result["problems"] == []
    summary = json.loads((out / "summary.json").read_text())
    containers = [e["container"] for p in summary["peers"].values() for s in p["sessions"].values()
                  for t in s["track"].values() for e in t["timeline"]]
    assert containers == ["mp4"] * 4
    paths = [out / f["path"] for f in files]
    for p in paths:
        ok, err = decodes_cleanly(p)
        assert ok, (p, err)
        streams = ffprobe(p)["streams"]
        assert [s["codec_name"] for s in streams] in (["h264"], ["opus"])
    results = play(paths)
    report(f"transmux h264+opus mp4 {mode}", results)
    check_played(results, paths)


# ---- AV1 in a Janus .mjr folder -----------------------------------------------------

def leb128(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def av1_rtp_packets(obu_file, fps):
    """libaom's temporal units as AV1 RTP (one OBU element per packet, fragmented when large)."""
    data = obu_file.read_bytes()
    tus, off = [], 0
    while off < len(data):
        h = data[off]
        hl = 2 if h & 0x04 else 1
        size, shift, lb = 0, 0, 0
        while True:
            b = data[off + hl + lb]
            lb += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        obu_type = (h >> 3) & 0x0F
        unsized = bytes([h & ~0x02]) + data[off + 1:off + hl] + data[off + hl + lb:off + hl + lb + size]
        off += hl + lb + size
        if obu_type == 2:
            tus.append([])
            continue
        tus[-1].append(unsized)
    packets, seq = [], 1
    for i, tu in enumerate(tus):
        ts = (1000 + i * 90000 // fps) & 0xFFFFFFFF
        at_ms = i * 1000 // fps
        new_sequence = any(((o[0] >> 3) & 0x0F) == 1 for o in tu)
        first = True
        for k, o in enumerate(tu):
            for start in range(0, len(o), 1100):
                chunk = o[start:start + 1100]
                z, y = start > 0, start + len(chunk) < len(o)
                agg = (0x80 if z else 0) | (0x40 if y else 0) | 0x10 | (0x08 if first and new_sequence else 0)
                first = False
                marker = k == len(tu) - 1 and not y
                header = struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | 45, seq & 0xFFFF, ts, 0xA1A1A1A1)
                packets.append((at_ms, header + bytes([agg]) + chunk))
                seq += 1
    return packets


def write_mjr(path, kind, codec, start_us, packets):
    info = json.dumps({"t": kind, "c": codec, "s": start_us, "u": start_us}).encode()
    with open(path, "wb") as f:
        f.write(b"MJR00002" + struct.pack(">H", len(info)) + info)
        for at_ms, p in packets:
            f.write(b"MEET" + struct.pack(">IH", at_ms, len(p)) + p)


def test_transmuxed_av1_mp4_plays_in_chromium(tmp_path):
    src = tmp_path / "src.obu"
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
                        "-frames:v", "45", "-pix_fmt", "yuv420p", "-c:v", "libaom-av1", "-cpu-used", "8",
                        "-usage", "realtime", "-g", "15", "-f", "obu", str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    mjr = tmp_path / "mjr"
    mjr.mkdir()
    write_mjr(mjr / "alice-video.mjr", "v", "av1", 1_731_132_577_000_000, av1_rtp_packets(src, 15))
    out = tmp_path / "t"
    r = cli("--in-s3", str(mjr), "--transmux", "--transmux-out-path", str(out), "-q")
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)["transmux"]["files"]
    assert len(files) == 1 and files[0]["codec"] == "av1" and files[0]["container"] == "mp4", files
    path = out / files[0]["path"]
    ok, err = decodes_cleanly(path)
    assert ok, err
    info = ffprobe(path)
    assert info["streams"][0]["codec_name"] == "av1"
    assert int(info["streams"][0]["nb_read_frames"]) == 45
    results = play([path])
    report("transmux av1 mp4", results)
    check_played(results, [path])


@pytest.mark.parametrize("audio", ["aac", "opus"])
def test_composed_h264_mp4_plays_in_chromium(h264_room, tmp_path, audio):
    out = tmp_path / f"room-{audio}.mp4"
    r = cli("--in-s3", h264_room, "--compose-audio", "--compose-video", "--compose-codec", "h264",
            "--compose-audio-codec", audio, "--compose-size", "640x360", "--compose-out-path", str(out), "-q")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["compose"]["container"] == "mp4"
    ok, err = decodes_cleanly(out)
    assert ok, err
    info = ffprobe(out)
    assert [s["codec_name"] for s in info["streams"]] == ["h264", audio]
    assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (640, 360)
    results = play([out])
    report(f"compose h264+{audio} mp4", results)
    r0 = results[0]
    assert r0.get("error") is None, r0
    assert abs(r0["duration"] - float(info["format"]["duration"])) < 0.25, r0
    assert (r0["width"], r0["height"]) == (640, 360), r0
    assert r0["frames_played"] > 10, r0
    assert [s["seeked"] for s in r0["seeks"]] == [True, True], r0
    assert r0["seeks"][0]["nonblack"] > 0.2, r0  # the middle shows the cameras (the end is after both left)
