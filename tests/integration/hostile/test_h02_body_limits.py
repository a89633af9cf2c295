"""Item 2 of issue 21: request bodies are bounded before they are read and
before authentication, for every transfer encoding. Bound stated here: under
four parallel 150 MB chunked POSTs without a token, one 200 MB chunked POST
with a valid token, a declared 1 TB Content-Length and a 50 MB header line,
the worker's peak RSS (VmHWM) grows by less than 48 MiB (the old server took
it from 56 to 948 MB), each attacking connection is cut before 32 MiB of it
were sent, and /healthz answers within 1 s throughout."""
import json
import socket
import threading
import time

import pytest

from hostile import BUILD, SECRET, WAIT, Worker, healthz_within, rss_kib, wait_until

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

MIB = 1 << 20
RSS_GROWTH_BOUND_KIB = 48 * 1024
CUT_BOUND = 32 * MIB


def post_head(token=None, extra=""):
    head = ("POST /api/convert/job HTTP/1.1\r\nHost: worker\r\nContent-Type: application/json\r\n" + extra)
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    return head


def stream(port, head, body_blocks, total):
    """Sends head then blocks until `total` bytes or the server cuts the
    connection; returns (bytes of body sent, first bytes of the answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sent = 0
    try:
        s.sendall(head.encode())
        while sent < total:
            block = body_blocks(sent)
            s.sendall(block)
            sent += len(block)
    except OSError:
        pass
    try:
        s.settimeout(5)
        answer = s.recv(4096)
    except OSError:
        answer = b""
    s.close()
    return sent, answer


def chunked_blocks(size=64 * 1024):
    data = b"x" * size
    framed = b"%x\r\n" % size + data + b"\r\n"
    return lambda sent: framed


def test_unbounded_bodies_and_headers_are_cut_before_they_are_read(tmp_path):
    with Worker(tmp_path, "--input-s3-uri", str(tmp_path), env={"SECRET": SECRET}) as w:
        wait_until("healthz", lambda: healthz_within(w.port))
        start_kib, _ = rss_kib(w.proc.pid)
        results = {}

        def attack(name, fn):
            results[name] = fn()

        attacks = [(f"chunked-no-token-{i}", lambda: stream(
            w.port, post_head(extra="Transfer-Encoding: chunked\r\n") + "\r\n", chunked_blocks(), 150 * MIB))
            for i in range(4)]
        attacks.append(("chunked-valid-token", lambda: stream(
            w.port, post_head(SECRET, "Transfer-Encoding: chunked\r\n") + "\r\n", chunked_blocks(), 200 * MIB)))
        attacks.append(("declared-1tb", lambda: stream(
            w.port, post_head(SECRET, "Content-Length: 1000000000000\r\n") + "\r\n",
            lambda sent: b"x" * 65536, 100 * MIB)))
        attacks.append(("header-line-50mb", lambda: stream(
            w.port, post_head(SECRET) + "X-Long: ", lambda sent: b"a" * 65536, 50 * MIB)))
        threads = [threading.Thread(target=attack, args=a) for a in attacks]
        for t in threads:
            t.start()
        healthy = []
        while any(t.is_alive() for t in threads):
            healthy.append(healthz_within(w.port))
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert healthy and all(healthy), healthy

        for name, (sent, answer) in results.items():
            assert sent < CUT_BOUND, (name, sent, answer[:200])
        assert results["chunked-no-token-0"][1].startswith(b"HTTP/1.1 401"), results["chunked-no-token-0"]
        assert results["declared-1tb"][1].startswith(b"HTTP/1.1 413"), results["declared-1tb"]
        assert results["header-line-50mb"][1][:12] in (b"HTTP/1.1 431", b"HTTP/1.1 413", b"HTTP/1.1 400", b"")

        _, peak_kib = rss_kib(w.proc.pid)
        assert peak_kib - start_kib < RSS_GROWTH_BOUND_KIB, (start_kib, peak_kib)
        assert w.proc.poll() is None
        assert w.stop() == 0


def test_a_small_chunked_body_is_still_accepted_and_expect_continue_gets_401_first(tmp_path):
    with Worker(tmp_path, "--input-s3-uri", str(tmp_path), "--transmux-s3-uri", str(tmp_path / "out"),
                env={"SECRET": SECRET}) as w:
        body = json.dumps({"record_path": "app/room/1", "transmux": {}}).encode()
        framed = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", w.port), timeout=WAIT)
        s.sendall((post_head(SECRET, "Transfer-Encoding: chunked\r\n") + "\r\n").encode() + framed)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            more = s.recv(4096)
            if not more:
                break
            answer += more
        s.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] is True

        # "Expect: 100-continue" without a valid token: 401 comes before any body byte is asked for.
        s = socket.create_connection(("127.0.0.1", w.port), timeout=WAIT)
        s.sendall((post_head("not-the-token-0123456789", "Content-Length: 60000\r\nExpect: 100-continue\r\n")
                   + "\r\n").encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 401")
        s.close()
        assert w.stop() == 0
