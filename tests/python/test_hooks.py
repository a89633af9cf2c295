"""HookSender and recorder hooks against a real HTTP receiver on 127.0.0.1."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

import roomrec
from conftest import T0, record_peer, s3_uri, synth_packets


class Receiver:
    def __init__(self):
        self.posts = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.cond:
                    outer.posts.append((self.path, self.headers.get("Content-Type"), body))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()


def test_hook_sender_posts_in_order():
    with Receiver() as r, roomrec.HookSender({"url": r.url, "headers": {"Authorization": "Bearer t"}, "node": 3}) as h:
        h.send_json({"custom": 1})
        h.record_started("app", "room", "app/room/1", ts_ms=T0)
        h.record_peer_joined("app", "room", "alice", "app/room/1/alice/1", ts_ms=T0 + 1)
        h.room_event(roomrec.RoomEvent.PEER_LEAVED, "app", "room", "alice", ts_ms=T0 + 2)
        h.flush(30)
        assert h.stats()["sent"] == 4
    assert [p[1] for p in r.posts] == ["application/json"] * 4
    bodies = [json.loads(p[2]) for p in r.posts]
    assert bodies[0] == {"custom": 1}
    assert [list(b["event"]) for b in bodies[1:]] == [["Record"], ["Record"], ["Room"]]
    assert [(b["node"], b["ts"]) for b in bodies[1:]] == [(3, T0), (3, T0 + 1), (3, T0 + 2)]
    text = json.dumps(bodies[1:])
    assert "app/room/1/alice/1" in text and "alice" in json.dumps(bodies[3])


def test_recorder_fires_record_hooks_on_first_upload(synth_dir, s3server):
    with Receiver() as r:
        cfg = {"max_chunk_bytes": 65536, "upload": {"uri": s3_uri(s3server, "hooked")},
               "hooks": {"url": r.url, "node": 5}}
        with roomrec.Recorder(cfg) as rec:
            with rec.open_session("py", "hook-room", "gina", 4, now=T0) as s:
                record_peer(s, synth_packets(synth_dir, 2, 300, 70), T0)
                s.leave(T0 + 2100)
                room_path = s.room_path
            rec.flush(60)
            assert rec.shutdown(30) == 0
            assert rec.stats()["hooks"]["sent"] == 2
    bodies = [json.dumps(json.loads(p[2])) for p in r.posts]
    assert len(bodies) == 2  # one Started for the room, one PeerJoined for the session
    assert f"hooked/{room_path}" in bodies[0]
    assert f"hooked/{room_path}/gina/4" in bodies[1]
