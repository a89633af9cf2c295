"""Item 6 of issue 21: a chunk renamed with extreme timestamps
("000000-0-<to>.rec", 2^64-1) must not make compose spin: the CLI finishes
within 120 s and lists the chunk as a problem, SIGINT stops it, and in the
worker the job ends within 120 s."""
import os
import signal
import subprocess
import time

import pytest

from hostile import BUILD, SECRET, Worker, assert_alive_and_answering, cli_path, record_room

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

BOUND = 120  # seconds for a 1 s room; it takes well under one


def rename_first_chunk(room_dir, make_name):
    peer = sorted(p for p in room_dir.iterdir() if p.is_dir())[0]
    session = sorted(peer.iterdir())[0]
    chunk = sorted(session.iterdir())[0]
    index, frm, to = chunk.name[:-4].split("-")
    os.rename(chunk, session / make_name(index, int(frm), int(to)))


@pytest.fixture(scope="module", params=["from-zero", "max-u64"])
def room(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    path = record_room(f"file://{root}", "extreme", packets=50)
    if request.param == "from-zero":
        rename_first_chunk(root / path, lambda i, f, t: f"{i}-0-{t}.rec")
    else:
        rename_first_chunk(root / path, lambda i, f, t: f"{i}-18446744073709551615-18446744073709551615.rec")
    return root, path


def test_the_cli_composes_within_the_bound_and_names_the_chunk(tmp_path, room):
    root, path = room
    out = tmp_path / "room.webm"
    r = subprocess.run([cli_path(), "--in-s3", str(root / path), "--compose-audio", "--compose-out-path", str(out)],
                       capture_output=True, text=True, timeout=BOUND)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "implausible" in r.stderr, r.stderr[-2000:]
    assert out.stat().st_size > 0


def test_the_worker_job_ends_within_the_bound(tmp_path, room):
    root, path = room
    with Worker(tmp_path, "--input-s3-uri", str(root), "--compose-s3-uri", str(tmp_path / "out"),
                env={"SECRET": SECRET}) as w:
        job_id = w.submit({"record_path": path, "compose": {"audio": True, "video": False}})
        started = time.monotonic()
        job = w.wait_state(job_id, "completed", "failed")
        assert time.monotonic() - started <= BOUND
        assert job["state"] == "completed", job["error"]
        assert any("implausible" in p for p in job["result"]["problems"]), job["result"]["problems"]
        assert_alive_and_answering(w)
        assert w.stop() == 0
