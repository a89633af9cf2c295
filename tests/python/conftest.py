"""Shared helpers for the Python binding tests (run by `meson test --suite python`).

Environment (set by tests/meson.build): ROOMREC_LIBRARY (the built
libroomrec.so), PYTHONPATH (bindings/python), ROOMREC_SYNTH_RTP (the C tool
writing VP8 + Opus RTP, tests/capi/synth_rtp.c, media from examples/synth.c)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
if str(ROOT / "bindings" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "bindings" / "python"))

T0 = 1731132577000

Packet = Tuple[int, int, bytes]  # track id, offset ms, RTP bytes


def _synth_tool() -> str:
    tool = os.environ.get("ROOMREC_SYNTH_RTP")
    if not tool:
        build = os.environ.get("ROOMREC_BUILD_DIR")
        tool = os.path.join(build, "tests", "synth_rtp") if build else ""
    if not tool or not os.path.exists(tool):
        pytest.fail("synth_rtp not found: run through `meson test` (ROOMREC_SYNTH_RTP)")
    return tool


_cache: Dict[tuple, List[Packet]] = {}


def synth_packets(tmp_dir: Path, seconds: int, tone: float, shade: int, width: int = 320,
                  height: int = 240, fps: int = 15) -> List[Packet]:
    """Real VP8 + Opus RTP for one peer (track 1 audio ssrc 1111, track 2 video ssrc 2222)."""
    key = (seconds, tone, shade, width, height, fps)
    if key not in _cache:
        out = tmp_dir / f"synth-{seconds}-{int(tone)}-{shade}.rtp"
        subprocess.run([_synth_tool(), str(out), str(seconds), str(width), str(height), str(fps), str(tone),
                        str(shade), "1111", "2222"], check=True, timeout=120)
        data = out.read_bytes()
        packets: List[Packet] = []
        i = 0
        while i < len(data):
            track = data[i]
            off = int.from_bytes(data[i + 1:i + 5], "little")
            n = int.from_bytes(data[i + 5:i + 7], "little")
            packets.append((track, off, data[i + 7:i + 7 + n]))
            i += 7 + n
        _cache[key] = packets
    return _cache[key]


def record_peer(session, packets: List[Packet], start: int) -> None:
    import roomrec
    assert session.track_started(1, "audio", "opus", clock_rate=48000, channels=2, ssrc=1111,
                                 fmtp="useinbandfec=1", now=start) == roomrec.RecordResult.OK
    assert session.track_started(2, "video", "vp8", ssrc=2222, now=start) == roomrec.RecordResult.OK
    for track, off, pkt in packets:
        assert session.rtp(track, pkt, start + off) == roomrec.RecordResult.OK
        if off % 1000 == 0:
            session.tick(start + off)
    end = start + packets[-1][1] + 20
    session.data("chat", "bye", end)
    session.track_stopped(2, end)


def ffprobe(path: str) -> dict:
    """Streams and duration of a media file; fails the test if ffprobe cannot read it."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_name,codec_type,width,height:format=duration", "-of", "json", path],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"ffprobe {path}: {r.stderr}"
    return json.loads(r.stdout)


def decodes(path: str) -> bool:
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True, timeout=300)
    return r.returncode == 0 and not r.stderr.strip()


def codecs(path: str) -> List[str]:
    return sorted(s["codec_name"] for s in ffprobe(path)["streams"])


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def s3server():
    from s3rver_fixture import S3Server
    with S3Server(buckets=("roomrec-test",)) as s3:
        yield s3


def s3_uri(s3, path: str = "") -> str:
    p = f"/{path}" if path else ""
    return f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/roomrec-test{p}?path_style=true"


def boto_client(s3):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
