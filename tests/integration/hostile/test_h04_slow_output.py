"""Item 4 of issue 21: a custom_s3 endpoint answering at 2 KiB/s (above the
low-speed limit) must not hold a job slot forever nor block shutdown. Bounds
stated here: with --job-timeout-seconds 4 the job fails within 20 s of
starting and the next job (another app's) then completes; with no job
timeout, SIGTERM and --grace-seconds 2 end the worker within 20 s (the old
build had not exited 80 s later)."""
import signal
import time

import pytest

from hostile import (ALLOW_LOOPBACK, BUILD, SECRET, WAIT, HostileEndpoint, Worker, assert_alive_and_answering,
                     read_state_files, record_room, wait_until)

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

SLOW_BODY = b"<x>" + b"." * (4 << 20) + b"</x>"  # 4 MiB at 2 KiB/s: over half an hour


@pytest.fixture(scope="module")
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    return root, record_room(f"file://{root}", "slow", packets=50), \
        record_room(f"file://{root}", "other", packets=50, app="other")


@pytest.fixture
def slow_endpoint():
    ep = HostileEndpoint(status=200, body=SLOW_BODY, rate=2048)
    yield ep
    ep.close()


def test_a_slow_custom_s3_fails_its_job_at_the_job_timeout_and_the_next_job_runs(tmp_path, rooms, slow_endpoint):
    root, slow_room, other_room = rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                "--max-jobs", "1", "--job-timeout-seconds", "4", *ALLOW_LOOPBACK, env={"SECRET": SECRET}) as w:
        slow = w.submit({"record_path": slow_room, "transmux": {"custom_s3": slow_endpoint.s3_uri()}})
        other = w.submit({"record_path": other_room, "transmux": {}})
        wait_until("the slow job to start", lambda: w.job(slow)["state"] != "queued")
        started = time.monotonic()
        job = wait_until("the slow job to end", lambda: (lambda j: j if j["state"] in ("completed", "failed")
                                                         else None)(w.job(slow)), timeout=20)
        assert time.monotonic() - started <= 20
        assert job["state"] == "failed" and "job timeout" in job["error"], job
        assert slow_endpoint.requests >= 1
        assert w.wait_state(other, "completed", "failed")["state"] == "completed"
        assert_alive_and_answering(w)
        assert w.stop() == 0


def test_sigterm_ends_the_worker_within_its_grace_whatever_the_output_does(tmp_path, rooms, slow_endpoint):
    root, slow_room, _ = rooms
    state = tmp_path / "state"
    with Worker(tmp_path, "--input-s3-uri", str(root), "--max-jobs", "1", "--grace-seconds", "2",
                "--state-dir", str(state), *ALLOW_LOOPBACK, env={"SECRET": SECRET}) as w:
        slow = w.submit({"record_path": slow_room, "transmux": {"custom_s3": slow_endpoint.s3_uri()}})
        wait_until("the upload to start", lambda: slow_endpoint.requests >= 1)
        sent = time.monotonic()
        w.proc.send_signal(signal.SIGTERM)
        try:
            rc = w.proc.wait(timeout=20)
        except Exception:
            raise AssertionError("the worker did not exit within 20 s of SIGTERM")
        assert time.monotonic() - sent <= 20
        assert rc == 0, w.log_text()[-2000:]
        # Cancelled by the shutdown: kept for the next start.
        assert read_state_files(state)[slow]["state"] == "queued"
