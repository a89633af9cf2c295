"""Item 7 of issue 21: a 5.4 MB chunk of frame markers each claiming 4 MiB
(68 s of CRC work before; 56 s here) in two of three sessions, next to
intact chunks: the CLI converts the room within 20 s and reports the chunks
as damaged. (The unit test "resynchronisation
costs at most a fixed multiple of the chunk size" bounds the work itself.)"""
import struct
import subprocess

import pytest

from hostile import BUILD, cli_path, record_room

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

BOUND = 20


def test_a_chunk_of_frame_bait_is_read_in_bounded_time(tmp_path):
    root = tmp_path / "rec"
    path = record_room(f"file://{root}", "bait", packets=50, sessions=3)
    bait = (b"\xf1R" + struct.pack("<I", 4 << 20)) * (5_400_000 // 6)
    for peer in sorted(p for p in (root / path).iterdir() if p.is_dir())[:2]:
        session = sorted(peer.iterdir())[0]
        chunk = sorted(session.iterdir())[0]
        chunk.write_bytes(chunk.read_bytes()[:12] + bait)
    r = subprocess.run([cli_path(), "--in-s3", str(root / path), "--transmux", "--transmux-out-path",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=BOUND)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "bad regions" in r.stderr, r.stderr[-2000:]
