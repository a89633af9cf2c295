"""Item 5 of issue 21: custom_s3 is not a probe of internal services.
Without --custom-s3-allow, loopback, private and link-local targets are
refused in every notation (at submit when numeric, at connect time for
names); a remote error body reaches the caller only as a short sanitised
status; a closed port, an open non-HTTP port and a silent port read alike."""
import re
import socket
import threading

import pytest

from hostile import (ALLOW_LOOPBACK, BUILD, SECRET, HostileEndpoint, Worker, assert_alive_and_answering,
                     record_room)

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")


@pytest.fixture(scope="module")
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    return root, record_room(f"file://{root}", "probe", packets=50, sessions=1)


def job_error(w, room, target, kind="transmux"):
    body = {"record_path": room, kind: {"custom_s3": target}}
    if kind == "compose":
        body[kind].update({"audio": True, "video": False})
    job_id = w.submit(body)
    job = w.wait_state(job_id, "completed", "failed")
    assert job["state"] == "failed", job
    return job["error"]


def test_internal_targets_are_refused_by_default_in_any_notation(tmp_path, rooms):
    root, room = rooms
    ep = HostileEndpoint(status=200, body=b"")
    try:
        with Worker(tmp_path, "--input-s3-uri", str(root), env={"SECRET": SECRET}) as w:
            for host in ("127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::1]", "[::ffff:127.0.0.1]",
                         "10.1.2.3", "169.254.169.254", "192.168.0.1", "[fe80::1]", "0.0.0.0"):
                target = f"http://AK:SECRETKEY@{host}:{ep.port}/bucket?path_style=true"
                for kind in ("transmux", "compose"):
                    status, answer = w.request("POST", "/api/convert/job",
                                               {"record_path": room, kind: {"custom_s3": target, **(
                                                   {"audio": True} if kind == "compose" else {})}})
                    assert status == 400 and "--custom-s3-allow" in answer["error"], (host, kind, answer)
            # A name that resolves to loopback passes the submit check but no connection is made.
            error = job_error(w, room, f"http://AK:SECRETKEY@localhost:{ep.port}/bucket?path_style=true")
            assert error.endswith(": cannot connect"), error
            assert ep.requests == 0
            assert_alive_and_answering(w)
            assert w.stop() == 0
    finally:
        ep.close()


def test_remote_error_bodies_are_not_reflected_and_ports_read_alike(tmp_path, rooms):
    root, room = rooms
    long_message = b"<Error><Code>AccessDenied</Code><Message>" + b"internal-secret " * 4000 + b"</Message></Error>"
    xml = HostileEndpoint(status=403, body=long_message)
    page = HostileEndpoint(status=500, body=b"<html>admin console of an internal service: token=abc</html>",
                           content_type="text/html")
    # An open port that is not HTTP (accepts, then closes) and a closed one.
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(16)

    def serve_raw():
        while True:
            try:
                c, _ = raw.accept()
            except OSError:
                return
            c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            c.close()
    threading.Thread(target=serve_raw, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    try:
        with Worker(tmp_path, "--input-s3-uri", str(root), "--custom-s3-request-timeout-seconds", "5",
                    *ALLOW_LOOPBACK, env={"SECRET": SECRET}) as w:
            error = job_error(w, room, xml.s3_uri())
            assert "HTTP 403 AccessDenied" in error and len(error) < 400, error
            assert error.count("internal-secret") <= 8, error
            error = job_error(w, room, page.s3_uri())
            assert "HTTP 500" in error and "admin console" not in error and "token" not in error, error

            def normalised(port):
                e = job_error(w, room, f"http://AK:SECRETKEY@127.0.0.1:{port}/bucket/x?path_style=true")
                return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", e)
            texts = {normalised(closed_port), normalised(raw.getsockname()[1])}
            assert len(texts) == 1, texts
            assert next(iter(texts)).endswith("cannot connect"), texts
            assert w.stop() == 0
    finally:
        xml.close()
        page.close()
        raw.close()
