"""Item 1 of issue 21: text that is not UTF-8 (a custom_s3 error body, a key
segment "al%FFice", a file name with a raw 0xFF byte) must not end the worker
or the CLI: the text is made valid where it enters, the job fails or
completes alone, every state file, answer and hook stays valid JSON."""
import json
import os
import subprocess

import pytest

from hostile import (ALLOW_LOOPBACK, BUILD, SECRET, WAIT, HookReceiver, HostileEndpoint, Worker,
                     assert_alive_and_answering, cli_path, read_state_files, record_room, rename_peer)

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

BAD_XML = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
           b"<Message>denied \xff\xfe here\nINFO worker: forged line</Message></Error>")
BAD_TEXT = b"\xff\xfe not xml at all \xc3\x28 \xed\xa0\x80"


@pytest.fixture(scope="module")
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    plain = record_room(f"file://{root}", "plain", packets=50)
    pct = record_room(f"file://{root}", "pct", packets=50)
    raw = record_room(f"file://{root}", "raw", packets=50)
    rename_peer(root / pct, "al%FFice")                      # a valid key; decodes to a 0xFF byte
    rename_peer(root / raw, os.fsdecode(b"bo\xffb"))         # a raw 0xFF byte in a folder name
    return root, plain, pct, raw


@pytest.mark.parametrize("body", [BAD_XML, BAD_TEXT], ids=["s3-xml", "not-xml"])
def test_custom_s3_error_body_with_invalid_utf8_fails_the_job_alone(tmp_path, rooms, body):
    root, plain, _, _ = rooms
    endpoint = HostileEndpoint(status=403, body=body)
    hooks = HookReceiver()
    state = tmp_path / "state"
    try:
        with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                    "--state-dir", str(state), "--hook-uri", hooks.url, *ALLOW_LOOPBACK,
                    env={"SECRET": SECRET}) as w:
            bad = w.submit({"record_path": plain, "transmux": {"custom_s3": endpoint.s3_uri()}})
            good = w.submit({"record_path": plain, "transmux": {}})
            job = w.wait_state(bad, "completed", "failed")
            assert job["state"] == "failed"
            assert "HTTP 403" in job["error"] and "\n" not in job["error"]
            if body is BAD_XML:  # a short, printable part of the S3 <Message>
                assert "AccessDenied: denied \ufffd\ufffd here\\nINFO worker: forged" in job["error"], job["error"]
            else:  # a body that is not an S3 error is never reflected
                assert "not xml" not in job["error"], job["error"]
            assert w.wait_state(good, "completed", "failed")["state"] == "completed"
            assert_alive_and_answering(w)
            # The state files, hooks and log are valid UTF-8 (JSON) and one line per event.
            files = read_state_files(state)
            assert files[bad]["state"] == "failed"
            raw = hooks.wait_for(bad, 2)
            assert json.loads(raw[-1])["event"]["Compose"]["event"]["Failed"]["error"] == job["error"]
            log = w.log_path.read_bytes().decode("utf-8")
            assert not any(line.startswith("INFO worker: forged") for line in log.splitlines())
            assert w.stop() == 0
    finally:
        endpoint.close()
        hooks.close()


@pytest.mark.parametrize("which,peer", [("pct", "al%FFice"), ("raw", "bo%FFb")])
def test_a_recording_whose_peer_name_is_not_utf8_converts_in_the_worker(tmp_path, rooms, which, peer):
    root, _, pct, raw = rooms
    path = {"pct": pct, "raw": raw}[which]
    state = tmp_path / "state"
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                "--state-dir", str(state), env={"SECRET": SECRET}) as w:
        job_id = w.submit({"record_path": path, "transmux": {}})
        job = w.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job["error"]
        assert peer in job["result"]["transmux"]["summary"]["peers"]
        assert_alive_and_answering(w)
        assert read_state_files(state)[job_id]["state"] == "completed"
        assert w.stop() == 0


@pytest.mark.parametrize("which,peer", [("pct", "al%FFice"), ("raw", "bo%FFb")])
def test_a_recording_whose_peer_name_is_not_utf8_converts_in_the_cli(tmp_path, rooms, which, peer):
    root, _, pct, raw = rooms
    path = {"pct": pct, "raw": raw}[which]
    out = tmp_path / "out"
    r = subprocess.run([cli_path(), "--in-s3", str(root / path), "--transmux", "--transmux-out-path", str(out)],
                       capture_output=True, timeout=WAIT)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    summary = json.loads((out / "summary.json").read_bytes().decode("utf-8"))
    assert peer in summary["peers"]
    r.stdout.decode("utf-8")  # what it prints is valid UTF-8 too
