"""The replayer through the C ABI and the bindings: items pulled in due order with mapped SSRC/PT and
continuous sequence numbers, SR+SDES reports, data rows with their due times, the paced callback loop
(stopped by the callback, by stop() from another thread), the SDP, and bad configurations."""
from __future__ import annotations

import struct
import threading

import pytest

import roomrec
from conftest import T0, synth_packets


@pytest.fixture(scope="module")
def room(tmp_path_factory, synth_dir):
    out = tmp_path_factory.mktemp("replay-rec")
    packets = synth_packets(synth_dir, 3, 440, 40)
    with roomrec.Recorder({"max_chunk_bytes": 32768, "upload": {"uri": str(out)}}) as rec:
        with rec.open_session("py", "replay", "alice", 1, now=T0) as s:
            s.track_started(1, "audio", "opus", clock_rate=48000, channels=2, ssrc=1111, now=T0)
            s.track_started(2, "video", "vp8", ssrc=2222, now=T0)
            sent_data = False
            for track, off, pkt in packets:
                if off >= 1000 and not sent_data:
                    assert s.data("chat", b"\x00\x01", T0 + 1000) == roomrec.RecordResult.OK
                    sent_data = True
                assert s.rtp(track, pkt, T0 + off) == roomrec.RecordResult.OK
            s.data("chat", "bye", T0 + packets[-1][1] + 20)
            s.leave(T0 + packets[-1][1] + 40)
            room_path = s.room_path
        rec.flush(60)
    return str(out / room_path), packets


def seq_of(pkt: bytes) -> int:
    return struct.unpack("!H", pkt[2:4])[0]


def test_pull_items(room):
    path, packets = room
    cfg = {"peer": "alice", "speed": 0, "ntp_origin_ms": 1_700_000_000_000,
           "map": {"audio_main": {"ssrc": 7, "payload_type": 100, "first_seq": 65530}, "2": {"ssrc": 8}}}
    with roomrec.Replayer(cfg, input=path) as r:
        info = r.info
        assert info["peer"] == "alice" and info["session"] == 1
        tracks = {t["name"]: t for t in info["tracks"]}
        assert set(tracks) == {"audio_main", "video_main"}
        assert (tracks["audio_main"]["ssrc"], tracks["audio_main"]["payload_type"]) == (7, 100)
        assert tracks["video_main"]["ssrc"] == 8 and tracks["video_main"]["keyframes"] >= 1
        items = list(r)
        assert r.next() is None
        stats = r.stats
    rtp = [i for i in items if i.kind == "rtp"]
    assert len(rtp) == len(packets) == stats["rtp_packets"]
    assert [i.media_ms for i in items] == sorted(i.media_ms for i in items)
    audio = [i.data for i in rtp if i.track_id == tracks["audio_main"]["id"]]
    assert [seq_of(p) for p in audio] == [(65530 + k) % 65536 for k in range(len(audio))]
    assert all(p[1] & 0x7F == 100 and struct.unpack("!I", p[8:12])[0] == 7 for p in audio)
    rtcp = [i for i in items if i.kind == "rtcp"]
    assert rtcp and all(i.data[1] == 200 for i in rtcp)
    assert {struct.unpack("!I", i.data[4:8])[0] for i in rtcp} == {7, 8}
    data = [i for i in items if i.kind == "data"]
    assert [(d.label, d.binary, d.data, d.recorded_ms) for d in data] == [
        ("chat", True, b"\x00\x01", T0 + 1000), ("chat", False, b"bye", T0 + packets[-1][1] + 20)]
    assert data[0].due_ms == 0 and data[0].media_ms == 1000


def test_sdp_and_srtp(room):
    path, _ = room
    with roomrec.Replayer(input=path, peer="alice", tracks=["video_main"],
                          srtp={"profile": "AES_CM_128_HMAC_SHA1_80", "key_hex": "11" * 30}) as r:
        sdp = r.sdp("127.0.0.1", 5004)
        assert "m=video 5004 RTP/SAVP 96" in sdp and "a=rtpmap:96 VP8/90000" in sdp
        assert "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in sdp and "m=audio" not in sdp
        first = r.next()
        assert first.kind == "rtp" and first.keyframe
        with pytest.raises(roomrec.InvalidArgumentError):
            r.sdp("127.0.0.1", 65535)


def test_run_paces_and_stops(room):
    path, _ = room
    got = []
    with roomrec.Replayer(input=path, peer="alice", speed=4, data=False) as r:
        r.run(lambda item: got.append(item))
        assert got and all(i.kind != "data" for i in got)
        assert [i.due_ms for i in got] == sorted(i.due_ms for i in got)
    # The callback stops it.
    with roomrec.Replayer(input=path, peer="alice", speed=0) as r:
        seen = []
        with pytest.raises(roomrec.CancelledError):
            r.run(lambda item: seen.append(item) or len(seen) < 5)
        assert len(seen) == 5
    # An exception in the callback stops it and is kept.
    with roomrec.Replayer(input=path, peer="alice", speed=0) as r:
        with pytest.raises(roomrec.CancelledError):
            r.run(lambda item: 1 / 0)
        assert isinstance(r.callback_errors[0], ZeroDivisionError)
    # stop() from another thread, while the replay sleeps at 1x.
    with roomrec.Replayer(input=path, peer="alice", speed=1) as r:
        first = threading.Event()

        def on_item(item):
            first.set()

        def stopper():
            first.wait(60)
            r.stop()

        t = threading.Thread(target=stopper)
        t.start()
        with pytest.raises(roomrec.CancelledError):
            r.run(on_item)
        t.join()


@pytest.mark.parametrize("cfg, error", [
    ({}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "speed": -1}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "speed": "fast"}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "bogus": 1}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "map": {"audio_main": {"payload_type": 200}}}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "map": {"audio_main": {"ssrc": 1}, "video_main": {"ssrc": 1}}}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "srtp": {"profile": "NOPE", "inline": "x"}}, roomrec.UnsupportedError),
    ({"peer": "alice", "srtp": {"profile": "AES_CM_128_HMAC_SHA1_80", "key_hex": "12"}}, roomrec.InvalidArgumentError),
    ({"peer": "alice", "tracks": ["screen"]}, roomrec.NotFoundError),
    ({"peer": "nobody"}, roomrec.NotFoundError),
    ({"peer": "alice", "seek_ms": 10_000_000}, roomrec.InvalidArgumentError),
])
def test_bad_configurations(room, cfg, error):
    path, _ = room
    with pytest.raises(error) as e:
        roomrec.Replayer(cfg, input=path)
    assert e.value.message


def test_every_wrapper_frees_once(room, tmp_path):
    """The five handle wrappers share one lifecycle: `with` frees, free() twice is harmless, and any
    use after it raises InvalidArgumentError naming what was freed."""
    path, _ = room
    rec = roomrec.Recorder({"upload": {"uri": str(tmp_path / "up")}})
    made = [
        ("recorder", rec, lambda o: o.stats()),
        ("session", rec.open_session("py", "life", "bob", 1, now=T0), lambda o: o.tick(T0)),
        ("hook sender", roomrec.HookSender("http://127.0.0.1:9/hooks"), lambda o: o.stats()),
        ("job", roomrec.ConvertJob(input=path, transmux={"output": str(tmp_path / "t")}), lambda o: o.cancel()),
        ("replayer", roomrec.Replayer(input=path, peer="alice", speed=0), lambda o: o.info),
    ]
    for what, obj, use in reversed(made):
        use(obj)
        with obj as same:
            assert same is obj
        obj.free()
        with pytest.raises(roomrec.InvalidArgumentError, match=f": {what} is freed$"):
            use(obj)
        with pytest.raises(roomrec.InvalidArgumentError, match="freed"):
            obj.handle
