"""Pause and resume through the bindings: media while paused is counted, not recorded; clear errors."""
from __future__ import annotations

import json

import pytest

import roomrec
from conftest import T0, synth_packets


def test_pause_resume_session_and_track(tmp_path, synth_dir):
    packets = synth_packets(synth_dir, 2, 440, 40)
    with roomrec.Recorder({"upload": {"uri": str(tmp_path / "out")}}) as rec:
        with rec.open_session("py", "pause-room", "alice", 1, now=T0) as s:
            assert s.track_started(1, "audio", "opus", ssrc=1111, now=T0) == roomrec.RecordResult.OK
            assert s.track_started(2, "video", "vp8", ssrc=2222, now=T0) == roomrec.RecordResult.OK
            half = len(packets) // 2
            for track, off, pkt in packets[:half]:
                assert s.rtp(track, pkt, T0 + off) == roomrec.RecordResult.OK
            t = T0 + packets[half][1]
            assert not s.paused
            assert s.pause(now=t) == roomrec.RecordResult.OK
            assert s.paused
            with pytest.raises(roomrec.InvalidArgumentError, match="already paused"):
                s.pause(now=t)
            paused = 0
            for track, off, pkt in packets[half:]:
                assert s.rtp(track, pkt, T0 + off) == roomrec.RecordResult.PAUSED
                paused += 1
            assert s.data("chat", "not for the record", t + 1) == roomrec.RecordResult.PAUSED
            st = s.stats()
            assert st["rtp_paused"] == paused
            assert st["data_paused"] == 1
            assert st["pauses"] == 1
            assert st["rtp_accepted"] == half
            assert s.pause(track_id=2, now=t + 2) == roomrec.RecordResult.OK
            assert s.resume(now=t + 3) == roomrec.RecordResult.OK
            assert not s.paused
            assert s.stats()["paused_tracks"] == [2]
            with pytest.raises(roomrec.InvalidArgumentError, match="not paused"):
                s.resume(now=t + 4)
            with pytest.raises(roomrec.InvalidArgumentError, match="not started"):
                s.pause(track_id=7, now=t + 4)
            with pytest.raises(roomrec.InvalidArgumentError, match="whole session"):
                s.resume(track_id=0, now=t + 4)
            assert s.resume(track_id=2, now=t + 5) == roomrec.RecordResult.OK
            assert s.stats()["paused_tracks"] == []
            s.leave(t + 10)
            assert s.pause(now=t + 11) == roomrec.RecordResult.CLOSED


def test_convert_with_pause_mode_and_selection(tmp_path, synth_dir):
    """A paused session converts to one file per track (keep: room timeline; cut: without the pause), and
    a peer left out by the selection is in no output."""
    from conftest import ffprobe, decodes
    alice = synth_packets(synth_dir, 4, 440, 40)
    bob = synth_packets(synth_dir, 4, 660, 160)
    out = tmp_path / "rec"
    with roomrec.Recorder({"upload": {"uri": str(out)}}) as rec:
        with rec.open_session("py", "consent", "alice", 1, now=T0) as a, \
                rec.open_session("py", "consent", "bob", 2, now=T0) as b:
            for s in (a, b):
                s.track_started(1, "audio", "opus", ssrc=1111, now=T0)
                s.track_started(2, "video", "vp8", ssrc=2222, now=T0)
            paused = False
            for (track, off, pkt), (btrack, boff, bpkt) in zip(alice, bob):
                if not paused and off >= 1000:
                    a.pause(now=T0 + off)
                    paused = True
                if paused and off >= 2500 and a.paused:
                    a.resume(now=T0 + off)
                a.rtp(track, pkt, T0 + off)
                b.rtp(btrack, bpkt, T0 + boff)
            a.leave(T0 + 4000)
            b.leave(T0 + 4000)
            room_path = a.room_path
        rec.flush(30)
    results = {}
    for mode in ("keep", "cut"):
        results[mode] = roomrec.convert(input=str(out / room_path),
                                        transmux={"output": str(tmp_path / mode), "pause_mode": mode},
                                        selection={"exclude_peers": ["bob"]})
    for mode, r in results.items():
        files = r["transmux"]["files"]
        assert sorted(f["track"] for f in files) == ["audio_main", "video_main"], files
        assert all(f["peer"] == "alice" for f in files)
        assert "bob" not in json.dumps(r)
        audio = next(f for f in files if f["track"] == "audio_main")
        assert 1400 <= audio["paused_ms"] <= 1600, audio
        duration = float(ffprobe(audio["uri"])["format"]["duration"])
        expected = 4.0 if mode == "keep" else 2.5
        assert abs(duration - expected) < 0.25, (mode, duration)
        assert decodes(audio["uri"])
        pauses = r["transmux"]["summary"]["peers"]["alice"]["sessions"]["1"]["pauses"]
        assert len(pauses) == 1 and 1400 <= pauses[0]["end"] - pauses[0]["start"] <= 1600, pauses
