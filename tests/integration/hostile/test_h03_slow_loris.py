"""Item 3 of issue 21: slow clients. Sixteen connections each sending one
header line every 2 s must not stop the API: /healthz answers within 1 s all
along, and each slow connection is closed by the request deadline
(--http-request-deadline-seconds 3) within 15 s of being opened."""
import socket
import threading
import time

import pytest

from hostile import BUILD, SECRET, Worker, healthz_within, wait_until

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

CONNECTIONS = 16
CLOSED_WITHIN = 15  # seconds from connect: the deadline (3 s) plus generous slack


def slow_client(port, out, i):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    opened = time.monotonic()
    s.sendall(b"POST /api/convert/job HTTP/1.1\r\nHost: worker\r\n")
    closed_after = None
    try:
        for n in range(20):  # up to 40 s of trickling
            time.sleep(2)
            s.sendall(b"X-Slow-%d: %d\r\n" % (n, n))
    except OSError:
        closed_after = time.monotonic() - opened
    if closed_after is None:
        # Writes may still succeed into a half-closed socket: a read says whether the server closed it.
        s.settimeout(0.5)
        try:
            if s.recv(1) == b"":
                closed_after = time.monotonic() - opened
        except socket.timeout:
            pass
        except OSError:
            closed_after = time.monotonic() - opened
    s.close()
    out[i] = closed_after


def test_slow_header_senders_do_not_stop_the_api_and_are_cut_by_the_deadline(tmp_path):
    with Worker(tmp_path, "--input-s3-uri", str(tmp_path), "--http-request-deadline-seconds", "3",
                env={"SECRET": SECRET}) as w:
        wait_until("healthz", lambda: healthz_within(w.port))
        closed = [None] * CONNECTIONS
        threads = [threading.Thread(target=slow_client, args=(w.port, closed, i)) for i in range(CONNECTIONS)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        probes = []
        end = time.monotonic() + 8
        while time.monotonic() < end:
            probes.append(healthz_within(w.port))
            time.sleep(0.2)
        for t in threads:
            t.join(timeout=60)
        assert probes and all(probes), probes
        assert all(c is not None and c <= CLOSED_WITHIN for c in closed), closed
        assert w.stop() == 0
