"""Items 8, 9 and 10 of issue 21: recording folders are read without
following symbolic links; no secret (userinfo, a secret after an unencoded
'#', a mistyped flag's value, a bad boolean, record_synthetic's S3 secret)
appears in any output, log or hook; a remote error text cannot forge log
lines."""
import json
import os
import socket
import subprocess

import pytest

from hostile import (ALLOW_LOOPBACK, BUILD, SECRET, WAIT, HookReceiver, HostileEndpoint, Worker,
                     assert_alive_and_answering, build_path, cli_path, record_room, wait_until)

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

PASSWORD = "pa55-w0rd-do-not-show"


@pytest.fixture(scope="module")
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    mine = record_room(f"file://{root}", "mine", packets=50)
    foreign = record_room(f"file://{root}", "foreign", packets=50, app="other")
    return root, mine, foreign


# ------------------------------------------------------------------ item 8

def test_item8_symlinks_in_a_recording_are_not_followed(tmp_path, rooms):
    root, mine, foreign = rooms
    linked = tmp_path / "linked"
    subprocess.run(["cp", "-r", str(root / mine), str(linked)], check=True)
    os.symlink("/etc", linked / "etc-peer")                      # a peer folder linked to /etc
    peer = sorted(p for p in (root / foreign).iterdir() if p.is_dir())[0]
    session = sorted(peer.iterdir())[0]
    os.makedirs(linked / "thief")
    os.symlink(session, linked / "thief" / "1")                  # a session of another app's room
    my_peer = sorted(p for p in linked.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "thief")[0]
    my_session = sorted(my_peer.iterdir())[0]
    os.symlink(sorted(session.iterdir())[0], my_session / "000099-1731132577000-1731132578000.rec")  # a chunk
    work_root = tmp_path / "in"
    (work_root / "app" / "linked").mkdir(parents=True)
    os.rename(linked, work_root / "app" / "linked" / "1731132577000")
    os.symlink(root / foreign, work_root / "app" / "linked" / "via-link")  # record_path through a link
    out = tmp_path / "out"
    with Worker(tmp_path, "--input-s3-uri", str(work_root), "--transmux-s3-uri", str(out),
                env={"SECRET": SECRET}) as w:
        job_id = w.submit({"record_path": "app/linked/1731132577000", "transmux": {}})
        job = w.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job["error"]
        problems = job["result"]["problems"]
        text = json.dumps(problems)
        assert "/etc/" not in text and "passwd" not in text, problems
        assert sum("symbolic link" in p for p in problems) == 3, problems
        assert "thief" not in json.dumps(job["result"]["transmux"]["files"])
        assert all(not f.startswith("thief") for f in os.listdir(next(out.rglob(job_id))))
        status, answer = w.request("POST", "/api/convert/job", {"record_path": "app/linked/via-link",
                                                                 "transmux": {}})
        assert status == 400 and "symbolic link" in answer["error"], answer
        assert w.stop() == 0


# ------------------------------------------------------------------ item 9

def test_item9_userinfo_of_a_presigned_output_is_never_shown(tmp_path, rooms):
    root, mine, _ = rooms
    ep = HostileEndpoint(status=200, body=b"")
    try:
        url = (f"http://user:{PASSWORD}@127.0.0.1:{ep.port}/out/room.webm?X-Amz-Algorithm=AWS4-HMAC-SHA256"
               f"&X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z"
               f"&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={'ab' * 32}")
        r = subprocess.run([cli_path(), "--in-s3", str(root / mine), "--compose-audio", "--compose-out-s3", url],
                           capture_output=True, text=True, timeout=WAIT)
        assert r.returncode == 0, r.stderr[-2000:]
        assert PASSWORD not in r.stdout + r.stderr
        assert json.loads(r.stdout)["compose"]["media_uri"] == f"http://127.0.0.1:{ep.port}/out/room.webm"
        hooks = HookReceiver()
        try:
            with Worker(tmp_path, "--input-s3-uri", str(root), *ALLOW_LOOPBACK, "--hook-uri", hooks.url,
                        env={"SECRET": SECRET}) as w:
                job_id = w.submit({"record_path": mine, "compose": {"audio": True, "video": False, "custom_s3": url}})
                job = w.wait_state(job_id, "completed", "failed")
                assert job["state"] == "completed", job["error"]
                raw = hooks.wait_for(job_id, 2)
                assert PASSWORD not in json.dumps(job) + "".join(raw)
                assert w.stop() == 0
            assert PASSWORD not in w.log_text()
        finally:
            hooks.close()
    finally:
        ep.close()


def test_item9_a_hook_uri_password_is_not_logged_when_delivery_fails(tmp_path, rooms):
    root, mine, _ = rooms
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens: every delivery fails
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                "--hook-uri", f"http://hooks:{PASSWORD}@127.0.0.1:{port}/hooks", env={"SECRET": SECRET}) as w:
        w.submit({"record_path": mine, "transmux": {}})
        wait_until("a failed delivery logged", lambda: "hook delivery failed" in w.log_text())
        assert PASSWORD not in w.log_text()
        w.proc.kill()


def test_item9_no_secret_is_echoed_by_flag_or_uri_errors(tmp_path, rooms):
    root, mine, _ = rooms
    secret = "s3cr3t-value-do-not-show"
    with Worker(tmp_path, "--input-s3-uri", str(root), env={"SECRET": SECRET}) as w:
        status, answer = w.request("POST", "/api/convert/job", {"record_path": mine, "transmux": {
            "custom_s3": f"http://AK:abc#{secret}@s3.example.com/bucket?path_style=true"}})
        assert status == 400 and secret not in json.dumps(answer), answer
        assert w.stop() == 0
    assert secret not in w.log_text()
    worker = build_path("src", "bin", "convert_record_worker")
    for args in ([f"--secrett={secret}"], [f"--in_s3={secret}"]):
        r = subprocess.run([worker, "--input-s3-uri", str(root), *args], capture_output=True, text=True,
                           timeout=WAIT, env=dict(os.environ, SECRET=SECRET))
        assert r.returncode == 2 and secret not in r.stdout + r.stderr, r.stderr
    for args, env in (([f"--in_s3={secret}"], {}), (["--in-s3", "/x", f"--transmux={secret}"], {}),
                      (["--in-s3", "/x", "--transmux-out-path", "o"], {"TRANSMUX": secret})):
        r = subprocess.run([cli_path(), *args], capture_output=True, text=True, timeout=WAIT,
                           env=dict(os.environ, **env))
        assert r.returncode == 2 and secret not in r.stdout + r.stderr, (args, r.stderr)


def test_item9_record_synthetic_does_not_print_the_s3_secret(tmp_path):
    from s3rver_fixture import S3Server
    with S3Server(buckets=("rec",)) as s3:
        r = subprocess.run([build_path("examples", "record_synthetic"), "--out",
                            f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/rec/x?path_style=true", "--peers", "1",
                            "--seconds", "1"], capture_output=True, text=True, timeout=WAIT)
        assert r.returncode == 0, r.stderr
        assert "S3RVER:S3RVER" not in r.stdout + r.stderr and "S3RVER:***@" in r.stdout


# ----------------------------------------------------------------- item 10

def test_item10_a_remote_error_text_cannot_forge_log_lines(tmp_path, rooms):
    root, mine, _ = rooms
    body = (b"<Error><Code>AccessDenied</Code><Message>no\nERROR worker: job job_000 forged\r\n"
            b"INFO api: forged too</Message></Error>")
    ep = HostileEndpoint(status=403, body=body)
    try:
        with Worker(tmp_path, "--input-s3-uri", str(root), *ALLOW_LOOPBACK, env={"SECRET": SECRET}) as w:
            job_id = w.submit({"record_path": mine, "transmux": {"custom_s3": ep.s3_uri()}})
            assert w.wait_state(job_id, "completed", "failed")["state"] == "failed"
            assert_alive_and_answering(w)
            assert w.stop() == 0
        lines = w.log_text().splitlines()
        assert any("forged" in l for l in lines)
        assert not any(l.startswith(("ERROR worker: job job_000", "INFO api: forged")) for l in lines), lines
    finally:
        ep.close()
