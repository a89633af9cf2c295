"""Bad input gives a RoomrecError with the pinned code and a message, never a crash."""
from __future__ import annotations

import pytest

import roomrec
from conftest import T0


def test_version_and_abi():
    assert roomrec.abi_version() == roomrec.ABI_VERSION == 2
    assert roomrec.version().count(".") == 2
    assert roomrec.strerror(roomrec.ErrorCode.PERMISSION_DENIED) == "permission_denied"
    assert roomrec.strerror(roomrec.RecordResult.DECRYPT_FAILED) == "decrypt_failed"


@pytest.mark.parametrize("config, needle", [
    ({"max_chunk_byte": 1}, "max_chunk_byte"),
    ({"max_chunk_bytes": "big"}, "max_chunk_bytes"),
    ({"max_chunk_bytes": 10}, "max_chunk_bytes"),
    ({"store": {"durable": True}}, "spill_dir"),
    ({"upload": {}}, "exactly one"),
    ({"upload": {"uri": "http://no-credentials@127.0.0.1/bucket"}}, "upload.uri"),
    ({"upload": {"uri": "http://K:S@127.0.0.1:9000/b?X-Amz-Signature=abc"}}, "presigned"),
    ({"upload": {"connector": {"url": "ftp://x"}}}, "connector.url"),
    ({"hooks": {"url": "http://h/x", "body_type": "xml"}}, "body_type"),
])
def test_bad_recorder_configs(config, needle):
    with pytest.raises(roomrec.InvalidArgumentError) as e:
        roomrec.Recorder(config)
    assert e.value.code == roomrec.ErrorCode.INVALID_ARGUMENT == -1
    assert needle in e.value.message
    assert isinstance(e.value, ValueError)


def test_bad_json_is_refused_by_the_c_abi():
    from roomrec._lib import lib
    from ctypes import byref, c_void_p
    h = c_void_p()
    assert lib.roomrec_recorder_new(b"{not json", byref(h)) == roomrec.ErrorCode.INVALID_ARGUMENT
    assert h.value is None
    assert "not valid JSON" in lib.roomrec_last_error().decode()
    assert lib.roomrec_recorder_new(None, byref(h)) == roomrec.ErrorCode.INVALID_ARGUMENT
    from roomrec._lib import convert_lib
    assert convert_lib().roomrec_convert(b"[1, 2", byref(h)) == roomrec.ErrorCode.INVALID_ARGUMENT
    # the convert library's message reaches the shared per-thread last error
    assert "JSON" in lib.roomrec_last_error().decode()


def test_session_errors_and_dropped_packets():
    with roomrec.Recorder({}) as rec:
        with pytest.raises(roomrec.InvalidArgumentError, match="peer"):
            rec.open_session("app", "room", "")
        with pytest.raises(roomrec.UnsupportedError):
            rec.open_session("app", "room", "p", srtp={"profile": "ROT13", "key_hex": "00"})
        with pytest.raises(roomrec.InvalidArgumentError):
            rec.open_session("app", "room", "p", srtp={"profile": "AES_CM_128_HMAC_SHA1_80", "inline": "!!"})
        with rec.open_session("app", "room", "p", 1, now=T0) as s:
            with pytest.raises(roomrec.InvalidArgumentError, match="already open"):
                rec.open_session("app", "room", "p", 1, now=T0)
            with pytest.raises(roomrec.InvalidArgumentError, match="kind"):
                s.track_started(1, "smell", "opus", now=T0)
            for exts, needle in [({0: "urn:x"}, "1..255"), ({300: "urn:x"}, "at most 255"), ({3: ""}, "empty"),
                                 ({3: "u" * 300}, "longer than 256"), ({i: "urn:x" for i in range(1, 18)}, "at most 16")]:
                with pytest.raises(roomrec.InvalidArgumentError, match=needle):
                    s.track_started(9, "audio", "opus", extensions=exts, now=T0)
            assert s.track_started(1, "audio", "opus", now=T0,
                                   extensions={1: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"}) == roomrec.RecordResult.OK
            assert s.track_started(1, "audio", "opus", now=T0) == roomrec.RecordResult.INVALID
            assert s.rtp(1, b"\x80", T0) == roomrec.RecordResult.MALFORMED
            rtp = bytes([0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]) + b"\x01" * 20
            assert s.rtp(9, rtp, T0) == roomrec.RecordResult.UNKNOWN_TRACK
            assert s.rtp(1, rtp, T0) == roomrec.RecordResult.OK
            assert s.rtcp(bytes([0x80, 201, 0, 1, 0, 0, 0, 9]), T0) == roomrec.RecordResult.OK
            assert s.rtcp(b"\x80\xc9", T0) == roomrec.RecordResult.MALFORMED
            assert s.data("bin", b"\x00\xff", T0) == roomrec.RecordResult.OK
            st = s.stats()
            assert (st["rtcp_accepted"], st["rtcp_malformed"], st["data_messages"]) == (1, 1, 1)
            assert s.leave(T0 + 1) == roomrec.RecordResult.OK
            assert s.rtp(1, rtp, T0 + 2) == roomrec.RecordResult.CLOSED
            assert s.stats()["rtp_malformed"] == 1
        # SRTP: plain packets into an SRTP session fail authentication and are counted.
        key = "00" * 30
        with rec.open_session("app", "room", "srtp", 2, srtp={"profile": "AES_CM_128_HMAC_SHA1_80", "key_hex": key},
                              now=T0) as s:
            s.track_started(1, "audio", "opus", now=T0)
            assert s.rtp(1, rtp, T0 + 1) == roomrec.RecordResult.DECRYPT_FAILED
            assert s.stats()["rtp_decrypt_failed"] == 1
    with pytest.raises(roomrec.InvalidArgumentError, match="freed"):
        s.rtp(1, rtp)


def test_convert_errors(tmp_path):
    with pytest.raises(roomrec.InvalidArgumentError, match="nothing to do"):
        roomrec.convert(input=str(tmp_path))
    with pytest.raises(roomrec.InvalidArgumentError, match="unknown field"):
        roomrec.convert(input=str(tmp_path), transmux={"output": str(tmp_path), "speed": 9})
    with pytest.raises(roomrec.InvalidArgumentError):
        roomrec.convert(input="http://nocreds@127.0.0.1/b/app/room/1", transmux={"output": str(tmp_path / "o")})
    with pytest.raises(roomrec.InvalidArgumentError, match="codec"):
        roomrec.convert(input=str(tmp_path), compose={"output": str(tmp_path / "x.webm"), "video_codec": "h265"})
    with pytest.raises(roomrec.RoomrecError) as e:
        roomrec.convert(input=str(tmp_path / "missing" / "app" / "room" / "1"), transmux={"output": str(tmp_path / "o")})
    assert e.value.code < 0 and e.value.message


def test_presign_errors():
    with pytest.raises(roomrec.InvalidArgumentError):
        roomrec.presign("PUT", "not a uri", "k")
    with pytest.raises(roomrec.InvalidArgumentError, match="method"):
        roomrec.presign("PATCH", "http://A:B@h/b", "k")
    with pytest.raises(roomrec.InvalidArgumentError, match="expiry"):
        roomrec.presign("PUT", "http://A:B@h/b", "k", expires_s=604801)


def test_hook_sender_errors():
    with pytest.raises(roomrec.InvalidArgumentError):
        roomrec.HookSender("ftp://nope")
    with roomrec.HookSender({"url": "http://127.0.0.1:9/h", "max_attempts": 1}) as h:
        with pytest.raises(roomrec.InvalidArgumentError, match="JSON"):
            h.send_json("{oops")
        with pytest.raises(roomrec.InvalidArgumentError, match="peer"):
            h.record_peer_joined("app", "room", "", "path")


def test_mutated_json_never_crashes(tmp_path):
    """Truncated and byte-flipped configs through every JSON entry point: OK or a pinned error code."""
    import random
    from ctypes import byref, c_void_p
    from roomrec._lib import convert_lib, lib

    codes = {int(c) for c in roomrec.ErrorCode}
    rng = random.Random(8)
    recorder_cfg = ('{"key_prefix": "p", "max_chunk_bytes": 65536, "max_chunk_ms": 1000, '
                    '"store": {"memory_budget_bytes": 1000000, "durable": false}, '
                    '"upload": {"connector": {"url": "http://127.0.0.1:9/c", "headers": {"A": "b"}}, "workers": 1}, '
                    '"hooks": {"url": "http://127.0.0.1:9/h", "body_type": "protobuf-binary"}}')
    session = ('{"app": "a", "room": "r", "peer": "p", "session_id": 3, "srtp": '
               '{"sdes": "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"}}')
    track = '{"kind": "video", "codec": "vp8", "clock_rate": 90000, "ssrc": 5, "cvo_extension_id": 3}'
    job = ('{"input": "%s/none", "transmux": {"output": "%s/t", "threads": 1}, '
           '"compose": {"output": "%s/c.webm", "width": 64, "height": 64}}' % (tmp_path, tmp_path, tmp_path))

    def mutate(text: str) -> bytes:
        b = bytearray(text.encode())
        if rng.random() < 0.3:
            return bytes(b[:rng.randrange(len(b))])
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(len(b))] = rng.choice(b'{}[]":,0123456789-tfn \\\xff')
        return bytes(b)

    good = c_void_p()
    assert lib.roomrec_recorder_new(b"{}", byref(good)) == 0
    seen_ok = 0
    for _ in range(300):
        h = c_void_p()
        rc = lib.roomrec_recorder_new(mutate(recorder_cfg), byref(h))
        assert rc in codes
        if rc == 0:
            seen_ok += 1
            lib.roomrec_recorder_free(h)
        s = c_void_p()
        rc = lib.roomrec_session_open(good, mutate(session), T0, byref(s))
        assert rc in codes
        if rc == 0:
            rc = lib.roomrec_session_track_started(s, 1, mutate(track), T0)
            assert rc in codes or rc in {int(r) for r in roomrec.RecordResult}
            lib.roomrec_session_free(s)
        out = c_void_p()
        rc = convert_lib().roomrec_convert(mutate(job), byref(out))
        assert rc in codes and rc != 0
        assert out.value is None
    lib.roomrec_recorder_free(good)
    assert seen_ok > 0  # some mutations stay valid: both paths were taken


