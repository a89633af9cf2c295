"""Callbacks: URL provider answered later from another thread, error and log callbacks."""
from __future__ import annotations

import queue
import threading

import roomrec
from conftest import T0, boto_client, record_peer, s3_uri, synth_packets


def test_url_provider_answered_asynchronously_from_another_thread(synth_dir, s3server):
    requests: "queue.Queue[roomrec.UrlRequest]" = queue.Queue()
    errors = []
    uploaded = []
    provider_threads = set()
    base = s3_uri(s3server, "async")

    def provider(req: roomrec.UrlRequest):
        provider_threads.add(threading.get_ident())
        requests.put(req)
        return None  # answered later by the answering thread

    answered = []
    refused_once = set()

    def answer_loop():
        while True:
            req = requests.get()
            if req is None:
                return
            info = req.info
            if info["key"] not in refused_once:
                refused_once.add(info["key"])
                req.fail("not yet, try again")  # the chunk is retried with a new request
                continue
            answered.append(info)
            req.answer(roomrec.presign("PUT", base, info["key"], 300))

    t = threading.Thread(target=answer_loop)
    t.start()
    try:
        cfg = {"max_chunk_bytes": 65536,
               "upload": {"callback": True, "retry_initial_ms": 20, "retry_max_ms": 100, "workers": 2}}
        with roomrec.Recorder(cfg, url_provider=provider, on_error=lambda c, m: errors.append((c, m)),
                              on_uploaded=lambda k, n: uploaded.append(k)) as rec:
            with rec.open_session("py", "async-room", "carol", 7, now=T0) as s:
                record_peer(s, synth_packets(synth_dir, 2, 550, 90), T0)
                s.leave(T0 + 2100)
                room_path = s.room_path
            rec.flush(60)
        assert not rec.callback_errors
    finally:
        requests.put(None)
        t.join()

    assert threading.get_ident() not in provider_threads  # asked on the upload workers
    assert sorted(uploaded) == sorted(a["key"] for a in answered)
    for a in answered:
        assert set(a) == {"app", "room", "peer", "session", "index", "from_ts", "to_ts", "key"}
        assert (a["app"], a["room"], a["peer"], a["session"]) == ("py", "async-room", "carol", 7)
    # Every chunk was refused once, reported through the error callback, then stored.
    assert len([e for e in errors if "not yet, try again" in e[1]]) == len(uploaded)
    assert all(code == roomrec.ErrorCode.UNAVAILABLE for code, _ in errors)
    c = boto_client(s3server)
    keys = [o["Key"] for o in c.list_objects_v2(Bucket="roomrec-test", Prefix=f"async/{room_path}/")["Contents"]]
    assert sorted(keys) == sorted(f"async/{k}" for k in uploaded)


def test_url_provider_exception_fails_the_attempt_and_is_kept(synth_dir, tmp_path):
    calls = []

    def provider(req):
        calls.append(req.key)
        if len(calls) == 1:
            raise RuntimeError("provider broke")
        return "http://127.0.0.1:9/never-used"  # port 9: refused, so the upload keeps failing

    errors = []
    rec = roomrec.Recorder({"upload": {"callback": True, "retry_initial_ms": 20, "retry_max_ms": 50}},
                           url_provider=provider, on_error=lambda c, m: errors.append(m))
    with rec.open_session("py", "broken", "dave", now=T0) as s:
        s.track_started(1, "audio", "opus", now=T0)
        s.leave(T0 + 10)
    try:
        rec.flush(0.5)
        raise AssertionError("flush should time out: every attempt fails")
    except roomrec.RoomrecTimeoutError as e:
        assert e.code == roomrec.ErrorCode.TIMEOUT
    assert rec.shutdown(0) == 1
    rec.free()
    assert len(calls) >= 2
    assert isinstance(rec.callback_errors[0], RuntimeError)
    assert any("provider broke" in m for m in errors)


def test_log_callback_receives_library_lines():
    lines = []
    roomrec.set_log_callback(lambda level, comp, msg: lines.append((level, comp, msg)), roomrec.LogLevel.WARN)
    try:
        with roomrec.Recorder({}) as rec:
            with rec.open_session("py", "log-room", "erin", now=T0) as s:
                s.track_started(1, "audio", "opus", now=T0)
                assert s.rtp(1, b"\x00\x01", T0 + 1) == roomrec.RecordResult.MALFORMED
    finally:
        roomrec.set_log_callback(None)
    assert any(level == roomrec.LogLevel.WARN and "dropped malformed" in msg for level, _, msg in lines), lines
