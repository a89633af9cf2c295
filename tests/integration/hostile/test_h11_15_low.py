"""Items 11-15 of issue 21 (low): invalid UTF-8 in a body is a 400; `curl -d`
(form content type) is taken up to the 64 KiB limit; queued jobs are
bounded per app and overall (429); --log-level takes the lower-case names
the help lists; the CLI fails when nothing could be converted."""
import json
import os
import subprocess
import urllib.request

import pytest

from hostile import BUILD, SECRET, WAIT, Worker, cli_path, record_room

pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")


@pytest.fixture(scope="module")
def rooms(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    return root, record_room(f"file://{root}", "short", packets=50), \
        record_room(f"file://{root}", "long", packets=1500, sessions=3)


def post_raw(w, body, content_type):
    req = urllib.request.Request(f"http://127.0.0.1:{w.port}/api/convert/job", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {SECRET}")
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_item11_invalid_utf8_in_a_body_is_a_400(tmp_path, rooms):
    root, short, _ = rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                env={"SECRET": SECRET}) as w:
        for body in (b'{"record_path": "app/\xff\xfe/1", "transmux": {}}', b'{"record_path": "\xc3\x28"}',
                     b'\xff\xfe{}'):
            status, answer = post_raw(w, body, "application/json")
            assert status == 400 and answer["status"] is False, (body, status, answer)
            assert "invalid JSON" in answer["error"]
        assert w.stop() == 0


def test_item12_form_content_type_is_taken_up_to_the_limit(tmp_path, rooms):
    root, short, _ = rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                env={"SECRET": SECRET}) as w:
        # What `curl -d @job.json` sends: application/x-www-form-urlencoded, here 20 KiB (padding spaces).
        body = json.dumps({"record_path": short, "transmux": {}}).encode()
        body = body[:-1] + b" " * (20 * 1024) + b"}"
        status, answer = post_raw(w, body, "application/x-www-form-urlencoded")
        assert status == 200, answer
        status, answer = post_raw(w, b"{" + b" " * (70 * 1024) + b"}", "application/x-www-form-urlencoded")
        assert status == 413, answer
        assert w.stop() == 0


def test_item13_queued_jobs_are_bounded_per_app_and_overall(tmp_path, rooms):
    root, _, long = rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--compose-s3-uri", str(tmp_path / "out"), "--max-jobs", "1",
                "--max-queued-jobs-per-app", "3", "--max-queued-jobs", "5", env={"SECRET": SECRET}) as w:
        job = {"record_path": long, "compose": {"audio": True, "video": True, "width": 320, "height": 240}}
        other = {**job, "record_path": "other/" + long.split("/", 1)[1]}
        first = w.submit(job)
        w.wait_state(first, "running")
        codes = [w.request("POST", "/api/convert/job", job)[0] for _ in range(9)]
        # One runs, three wait; the rest of app's are refused.
        assert codes == [200] * 3 + [429] * 6, codes
        status, answer = w.request("POST", "/api/convert/job", job)
        assert status == 429 and "app 'app'" in answer["error"], answer
        codes = [w.request("POST", "/api/convert/job", other)[0] for _ in range(4)]
        assert codes == [200, 200, 429, 429], codes  # 5 queued in all
        status, answer = w.request("POST", "/api/convert/job", other)
        assert status == 429 and "too many queued jobs" in answer["error"], answer
        assert w.proc.poll() is None
        w.proc.kill()


@pytest.mark.parametrize("level", ["debug", "DEBUG", "trace", "info"])
def test_item14_log_level_takes_the_names_the_help_lists(tmp_path, level):
    with Worker(tmp_path, "--input-s3-uri", str(tmp_path), "--log-level", level, env={"SECRET": SECRET}) as w:
        assert w.stop() == 0


def test_item15_the_cli_fails_when_every_chunk_is_unreadable(tmp_path, rooms):
    root, short, _ = rooms
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(root / short), str(broken)], check=True)
    for dirpath, _, files in os.walk(broken):
        for f in files:
            p = os.path.join(dirpath, f)
            size = os.path.getsize(p)
            with open(p, "wb") as out:
                out.write(b"\x00garbage" * (size // 8 + 1))
    r = subprocess.run([cli_path(), "--in-s3", str(broken), "--transmux", "--transmux-out-path", str(tmp_path / "t"),
                        "--compose-audio", "--compose-out-path", str(tmp_path / "c.webm")],
                       capture_output=True, text=True, timeout=WAIT)
    assert r.returncode != 0, (r.returncode, r.stderr[-2000:])
    assert "nothing could be converted" in r.stderr
