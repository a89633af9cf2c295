#!/usr/bin/env python3
"""record_convert.py: record a two-peer room with the Python bindings, then convert it.

The twin of examples/record_convert.c: alice and bob join a room, each sends
a few seconds of VP8 + Opus RTP (bob joins one second later), both leave, the
chunks are uploaded to --out (a folder, file:// or an S3 URI), and the
recording is transmuxed (one file per track + summary.json) and composed (one
WebM of the room). The convert result is printed as JSON on stdout, progress
on stderr. Exit status: 0 done, 1 a roomrec call failed, 2 bad command line,
3 the media could not be made.

The RTP is real media made by the C tool synth_rtp (tests/capi/synth_rtp.c,
encoding with libvpx/libopus through examples/synth.c); a media server would
pass the packets it receives instead. Time is simulated: each call gets the
packet's time in unix ms.

Run from the source tree after `ninja -C build` (libroomrec.so and
tests/synth_rtp built):

    ROOMREC_LIBRARY=build/libroomrec.so PYTHONPATH=bindings/python \\
        python3 examples/record_convert.py --out /tmp/rec \\
        --transmux-out /tmp/out --compose-out /tmp/out/room.webm \\
        --synth-rtp build/tests/synth_rtp

Without PYTHONPATH the package is taken from bindings/python next to this
file; without ROOMREC_LIBRARY it looks in the build folders and the system;
--synth-rtp defaults to $ROOMREC_SYNTH_RTP, then build*/tests/synth_rtp.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "bindings" / "python"))  # after PYTHONPATH and installed packages
import roomrec  # noqa: E402

AUDIO, VIDEO = 1, 2  # track ids, as synth_rtp numbers them


def log(*args: object) -> None:
    print("record_convert.py:", *args, file=sys.stderr)


def synth_rtp(tool: str, seconds: int, tone_hz: int, shade: int) -> Iterator[Tuple[int, int, bytes]]:
    """(track id, offset ms, RTP packet) of one peer's stream, from synth_rtp's file:
    records of u8 track | u32 offset_ms | u16 length | packet, little endian."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peer.rtp"
        subprocess.run([tool, str(out), str(seconds), "320", "240", "15", str(tone_hz), str(shade), "1111", "2222"],
                       check=True)
        data = out.read_bytes()
    i = 0
    while i < len(data):
        track, offset, size = data[i], int.from_bytes(data[i + 1:i + 5], "little"), int.from_bytes(
            data[i + 5:i + 7], "little")
        yield track, offset, data[i + 7:i + 7 + size]
        i += 7 + size


def recording_location(out: str, room_path: str) -> str:
    """Where the converter finds the room: --out joined with the room path; an S3 URI keeps its query last."""
    base, sep, query = out.partition("?") if out.startswith(("http://", "https://")) else (out, "", "")
    return f"{base.rstrip('/')}/{room_path}{sep}{query}"


def record(out: str, seconds: int, tool: str) -> str:
    """Records the room to `out` and returns the recording's location."""
    t0 = int(time.time() * 1000)
    peers = [("alice", 1, t0, seconds, 440, 40), ("bob", 2, t0 + 1000, seconds - 1, 660, 160)]
    end = t0 + seconds * 1000
    # A chunk closes at 64 KiB or 10 s (small, so a few seconds make several); two workers upload them.
    config = {"max_chunk_bytes": 65536, "max_chunk_ms": 10000, "upload": {"uri": out, "workers": 2}}
    # Leaving the `with` block shuts the recorder down (uploads wait up to 10 s more).
    with roomrec.Recorder(config,
                          on_keyframe=lambda s, track: log(f"keyframe requested on track {track}"),
                          on_error=lambda code, msg: log(f"recorder: {roomrec.strerror(code)}: {msg}"),
                          on_uploaded=lambda key, size: log(f"uploaded {key} ({size} bytes)")) as rec:
        sessions = []
        for name, session_id, joined, _, _, _ in peers:
            s = rec.open_session("example", "example-room", name, session_id, ip="127.0.0.1",
                                 user_agent="record_convert.py", now=joined)
            s.track_started(AUDIO, "audio", "opus", name="audio_main", clock_rate=48000, channels=2,
                            fmtp="useinbandfec=1", now=joined)
            s.track_started(VIDEO, "video", "vp8", name="video_main", clock_rate=90000, now=joined)
            sessions.append(s)
        # A media server calls each session from the thread receiving that peer's packets;
        # here the peers are fed one after the other, each packet stamped with its arrival time.
        for s, (name, _, joined, peer_seconds, tone, shade) in zip(sessions, peers):
            dropped = 0
            for track, offset, packet in synth_rtp(tool, peer_seconds, tone, shade):
                # A RecordResult other than OK means the packet was dropped (and counted); errors raise.
                dropped += s.rtp(track, packet, joined + offset) != roomrec.RecordResult.OK
                if offset % 1000 == 0:
                    s.tick(joined + offset)  # time-based chunk rotation, about once a second
            log(f"{name}: {s.stats()['rtp_accepted']} RTP packets recorded, {dropped} dropped")
        for s in sessions:
            s.data("chat", "bye", end)
            s.leave(end)  # the leave row; the last chunk goes to the upload queue
        room_path = sessions[0].room_path  # "{app}/{room}/{room_record_id}"
        log("waiting for the uploads")
        rec.flush(60)
        if rec.shutdown(10) != 0:
            raise roomrec.RoomrecTimeoutError(roomrec.ErrorCode.TIMEOUT, "chunks left unsent")
    return recording_location(out, room_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder, file:///abs or S3 URI the chunks go to")
    ap.add_argument("--transmux-out", help="folder or S3 URI prefix for one file per track + summary.json")
    ap.add_argument("--compose-out", help="WebM file or S3 URI for the composed room")
    ap.add_argument("--seconds", type=int, default=4, choices=range(2, 601), metavar="2..600")
    ap.add_argument("--synth-rtp", help="the synth_rtp tool (default: $ROOMREC_SYNTH_RTP, build*/tests/synth_rtp)")
    args = ap.parse_args()
    if not args.transmux_out and not args.compose_out:
        ap.error("give --transmux-out, --compose-out or both")
    tool = args.synth_rtp or os.environ.get("ROOMREC_SYNTH_RTP") or next(
        (str(p) for p in sorted(ROOT.glob("build*/tests/synth_rtp"))), None)
    if not tool:
        ap.error("synth_rtp not found: build it (ninja -C build tests/synth_rtp) and pass --synth-rtp")

    log(f"libroomrec {roomrec.version()}")
    try:
        location = record(args.out, args.seconds, tool)
        log(f"recorded {location}; converting")
        result = roomrec.convert(
            input=location,
            transmux={"output": args.transmux_out} if args.transmux_out else None,
            compose={"output": args.compose_out, "width": 640, "height": 360, "fps": 15} if args.compose_out else None)
    except roomrec.RoomrecError as e:  # carries the C error code and the library's message
        log(f"failed: {e.name} ({e.code}): {e.message}")
        return 1
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"making the media failed: {e}")
        return 3
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
