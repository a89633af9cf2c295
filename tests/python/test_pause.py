"""Pause and resume through the bindings: media while paused is counted, not recorded; clear errors."""
from __future__ import annotations

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
