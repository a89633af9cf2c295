"""convert_record_worker as a process: jobs submitted over its REST API against
the S3 test server and local folders, hooks caught by a local receiver.

Rooms are recorded by build/tests/record_tool (Opus and VP8); every wait is
a poll with a generous deadline, never an assertion about how long
something took."""
import datetime
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
from s3rver_fixture import S3Server  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

BUCKET = "roomrec-test"
SECRET = "worker-test-secret-0123456789"
APP_TOKEN = "token-of-app-only-0123456789"        # apps file: app "app"
OTHER_TOKEN = "token-of-other-app-0123456789"     # apps file: app "other"
WAIT = 90  # seconds: upper bound of every wait (a poll, not a timing assertion)


def build_path(*parts):
    return os.path.join(os.path.abspath(BUILD), *parts)


# ----------------------------------------------------------------- helpers


def wait_until(what, predicate, timeout=WAIT, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(interval)


def record_room(out_uri, room, packets, sessions=2, app="app"):
    """Records a room of real Opus and VP8 (packets x 20 ms) and returns its path {app}/{room}/{id}."""
    r = subprocess.run([build_path("tests", "record_tool"), "--out", out_uri, "--sessions", str(sessions),
                        "--packets", str(packets), "--room", room, "--app", app, "--media", "real"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


class HookReceiver:
    """A local hook endpoint: keeps every POST (path, content type, body);
    answers 500 to the first `fail_first` of them."""

    def __init__(self, fail_first=0):
        self.bodies = []
        self.cond = threading.Condition()
        self.fail_left = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.cond:
                    if receiver.fail_left > 0:
                        receiver.fail_left -= 1
                        code = 500
                    else:
                        receiver.bodies.append((self.headers.get("Content-Type"), body))
                        receiver.cond.notify_all()
                        code = 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self):
        with self.cond:
            return [json.loads(b) for _, b in self.bodies]

    def raw_for(self, job_id):
        with self.cond:
            return [b.decode() for _, b in self.bodies if json.loads(b)["event"]["Compose"]["job_id"] == job_id]

    def wait_for(self, job_id, count):
        def enough():
            got = self.raw_for(job_id)
            return got if len(got) >= count else None
        return wait_until(f"{count} hooks of {job_id}", enough)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Worker:
    """One convert_record_worker process on a free port, its stderr in a file."""
    count = 0

    def __init__(self, tmp_path, *args, env=None):
        Worker.count += 1
        self.log_path = tmp_path / f"worker-{Worker.count}.log"
        self.args = [build_path("src", "bin", "convert_record_worker"), "--http-addr", "127.0.0.1:0", *args]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.port = None

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, env=self.env, text=True)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}): {self.log_text()}")
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log_text())
            return int(m.group(1)) if m else None
        self.port = wait_until("the worker to listen", listening)
        return self

    def log_text(self):
        return self.log_path.read_text()

    def request(self, method, path, body=None, token=SECRET, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        return status, (json.loads(text) if text and text[0] in "{[" else text)

    def submit(self, body, token=SECRET):
        status, answer = self.request("POST", "/api/convert/job", body, token)
        assert status == 200, answer
        assert answer["status"] is True and set(answer["data"]) == {"job_id"}
        return answer["data"]["job_id"]

    def job(self, job_id, token=SECRET):
        status, answer = self.request("GET", f"/api/convert/job/{job_id}", token=token)
        assert status == 200, answer
        return answer["data"]

    def wait_state(self, job_id, *states, token=SECRET):
        return wait_until(f"{job_id} in {states}",
                          lambda: (lambda j: j if j["state"] in states else None)(self.job(job_id, token)),
                          interval=0.02)

    def metrics(self):
        status, text = self.request("GET", "/metrics", token=None)
        assert status == 200
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=WAIT)
        self.log.close()
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def s3_client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))


def s3_keys(client, prefix):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def day_path(unix_ms):
    return datetime.datetime.fromtimestamp(unix_ms / 1000, datetime.timezone.utc).strftime("%Y/%m/%d")


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def expected_completed(node, ts, app, job_id, summary, compose):
    """The reference's ComposeEvent Completed JSON, built from our summary.json:
    only metadata_json and peers -> sessions -> track -> {kind, timeline[{path, start, end}]}."""
    transmux = None
    if summary is not None:
        peers = {}
        for peer in sorted(summary["peers"]):
            sessions = {}
            for sid in sorted(summary["peers"][peer]["sessions"], key=int):
                tracks = {}
                track_map = summary["peers"][peer]["sessions"][sid]["track"]
                for name in sorted(track_map):
                    t = track_map[name]
                    tracks[name] = {"kind": t["kind"], "timeline": [
                        {"path": s["path"], "start": s["start"], "end": s.get("end", 0)} for s in t["timeline"]]}
                sessions[sid] = {"track": tracks}
            peers[peer] = {"sessions": sessions}
        transmux = {"metadata_json": summary["metadata_json"], "peers": peers}
    return compact({"node": node, "ts": ts, "event": {"Compose": {"app": app, "job_id": job_id, "event": {
        "Completed": {"transmux": transmux, "compose": compose}}}}})


def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def s3():
    with S3Server(buckets=(BUCKET,)) as server:
        yield server


@pytest.fixture(scope="module")
def s3_room(s3):
    """A 3 s room of 2 peers recorded into S3 under recordings/."""
    root = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/recordings?path_style=true"
    return root, record_room(root, "s3-room", packets=150)


@pytest.fixture(scope="module")
def local_rooms(tmp_path_factory):
    """Local recordings: a short room (2 s) and a long one (30 s) for jobs that must still be running."""
    root = tmp_path_factory.mktemp("recordings")
    short = record_room(f"file://{root}", "short", packets=100)
    long = record_room(f"file://{root}", "long", packets=1500, sessions=3)
    return root, short, long


@pytest.fixture
def hooks():
    receiver = HookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def apps_file(tmp_path):
    path = tmp_path / "apps.json"
    path.write_text(json.dumps({APP_TOKEN: {"app": "app"}, OTHER_TOKEN: {"app": "other"}}))
    return path


# ------------------------------------------------------------------- tests


def test_a_recorded_room_is_transmuxed_and_composed_into_s3(tmp_path, s3, s3_room, hooks):
    input_root, room_path = s3_room
    out_root = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/out?path_style=true"
    with Worker(tmp_path, "--input-s3-uri", input_root, "--transmux-s3-uri", out_root, "--compose-s3-uri", out_root,
                "--hook-uri", hooks.url, "--node-id", "7", "--max-jobs", "1", env={"SECRET": SECRET}) as w:
        job_id = w.submit({"record_path": room_path, "transmux": {},
                           "compose": {"audio": True, "video": True, "width": 320, "height": 240}})
        assert re.fullmatch(r"job_[0-9a-f]{24}", job_id)
        job = w.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job["error"]
        assert job["progress"] == 1 and job["attempts"] == 1 and job["error"] is None
        day = day_path(job["accepted_ms"])

        c = s3_client(s3.endpoint)
        transmux_prefix = f"out/app/transmux/{day}/{job_id}/"
        compose_key = f"out/app/compose/{day}/{job_id}.webm"
        keys = s3_keys(c, transmux_prefix)
        summary = json.loads(c.get_object(Bucket=BUCKET, Key=transmux_prefix + "summary.json")["Body"].read())
        paths = [span["path"] for peer in summary["peers"].values() for sess in peer["sessions"].values()
                 for track in sess["track"].values() for span in track["timeline"]]
        assert len(paths) == 4  # 2 peers x (audio + video)
        data_paths = [d["path"] for peer in summary["peers"].values() for sess in peer["sessions"].values()
                      for d in sess.get("data", {}).values()]  # data channels: ours, not in the hook
        assert keys == sorted([transmux_prefix + "summary.json"] + [transmux_prefix + p for p in paths + data_paths])
        assert s3_keys(c, f"out/app/compose/") == [compose_key]
        webm = tmp_path / "composed.webm"
        webm.write_bytes(c.get_object(Bucket=BUCKET, Key=compose_key)["Body"].read())
        probe = ffprobe(webm)
        assert "webm" in probe["format"]["format_name"]
        kinds = {s["codec_type"]: s for s in probe["streams"]}
        assert kinds["video"]["codec_name"] == "vp8"
        assert (kinds["video"]["width"], kinds["video"]["height"]) == (320, 240)
        assert kinds["audio"]["codec_name"] == "opus"

        result = job["result"]
        assert result["compose"]["media_uri"] == compose_key
        assert result["transmux"]["summary"] == summary
        # Each output's "bytes" is the size of the object stored.
        sizes = {o["Key"]: o["Size"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]}
        outputs = result["transmux"]["files"] + result["transmux"]["data_files"]
        assert len(outputs) == len(paths + data_paths)
        for f in outputs:
            assert f["bytes"] == sizes[f["uri"]] > 0
        assert result["compose"]["bytes"] == sizes[compose_key] == len(webm.read_bytes())
        output_bytes = sum(f["bytes"] for f in outputs) + result["compose"]["bytes"]
        assert (result["app"], result["room"]) == ("app", "s3-room")

        raw = hooks.wait_for(job_id, 2)
        started, completed = (json.loads(r) for r in raw)
        assert raw[0] == compact({"node": 7, "ts": started["ts"], "event": {"Compose": {
            "app": "app", "job_id": job_id, "event": {"Started": {}}}}})
        assert raw[1] == expected_completed(7, completed["ts"], "app", job_id, summary,
                                            {"media_uri": compose_key, "duration_ms": result["compose"]["duration_ms"]})
        assert result["compose"]["duration_ms"] > 2000
        assert started["ts"] <= completed["ts"]

        m = w.metrics()
        assert m['roomrec_worker_jobs{state="completed"}'] == 1
        assert m["roomrec_worker_jobs_accepted_total"] == 1
        assert m["roomrec_worker_hooks_sent_total"] == 2
        assert m["roomrec_worker_media_seconds_total"] > 2
        assert m["roomrec_worker_conversion_seconds_total"] > 0
        assert m["roomrec_worker_output_bytes_total"] == output_bytes
        assert w.stop() == 0
    log = w.log_text()
    assert "S3RVER:S3RVER" not in log and SECRET not in log


def test_bad_requests_get_their_status_and_message(tmp_path, local_rooms, apps_file, hooks):
    root, short, _ = local_rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                "--apps-file", str(apps_file), "--hook-uri", hooks.url, env={"SECRET": SECRET}) as w:
        ok = {"record_path": short, "transmux": {}}
        cases = [
            # (token, body (dict, or bytes sent as is), status, message fragment)
            (None, ok, 401, "missing bearer token"),
            ("wrong-token-0123456789", ok, 401, "invalid bearer token"),
            (SECRET[:-1], ok, 401, "invalid bearer token"),
            (SECRET, b"{not json", 400, "invalid JSON"),
            (SECRET, b"[1, 2]", 400, "the body must be a JSON object"),
            (SECRET, {"record_path": short}, 400, "nothing to do: give transmux, compose, participants or several"),
            (SECRET, {"record_path": short, "transmux": None, "compose": None}, 400, "nothing to do"),
            (SECRET, {"transmux": {}}, 400, "record_path (a string) is required"),
            (SECRET, {"record_path": "/app/r/1", "transmux": {}}, 400, "must be relative"),
            (SECRET, {"record_path": "app/../other/1", "transmux": {}}, 400, "'.' or '..'"),
            (SECRET, {"record_path": "app//1", "transmux": {}}, 400, "empty path segment"),
            (SECRET, {"record_path": "app/room", "transmux": {}}, 400, "{app}/{room}/{room_record_id}"),
            (SECRET, {"record_path": "app/r?x=1/1", "transmux": {}}, 400, "letters, digits"),
            (SECRET, {"record_path": short, "transmux": {"custom_s3": "ftp://x/y"}}, 400,
             "transmux.custom_s3 must be an http:// or https:// S3 URI"),
            (SECRET, {"record_path": short, "transmux": {"custom_s3": "http://127.0.0.1:9/bucket?path_style=true"}},
             400, "missing credentials"),
            (SECRET, {"record_path": short, "compose": {"audio": True, "custom_s3": "http://k:s@h/b?bogus=1"}}, 400,
             "unknown query parameter"),
            (SECRET, {"record_path": short, "compose": {"audio": False, "video": False}}, 400,
             "compose needs audio, video or both"),
            (SECRET, {"record_path": short, "compose": {"audio": "yes"}}, 400, "compose.audio must be true or false"),
            (SECRET, {"record_path": short, "compose": {"width": 321}}, 400, "must be even"),
            (SECRET, {"record_path": short, "compose": {"video_codec": "h265"}}, 400,
             "compose.video_codec must be vp8, vp9 or h264"),
            (SECRET, {"record_path": short, "compose": {}}, 400, "no compose output"),  # no --compose-s3-uri
            (SECRET, {"record_path": short, "transmux": {}, "extra": 1}, 400, "unknown field body.extra"),
            (OTHER_TOKEN, ok, 403, "outside this token's app 'other'"),
            (SECRET, b"{" + b" " * (70 * 1024) + b"}", 413, "too large"),
        ]
        for token, body, status, fragment in cases:
            raw = body if isinstance(body, bytes) else None
            got, answer = w.request("POST", "/api/convert/job", None if raw else body, token=token, raw=raw)
            assert (got, answer["status"]) == (status, False), (body if not raw else raw[:40], answer)
            assert fragment in answer["error"], (fragment, answer)
            assert set(answer) == {"status", "error"}
        assert w.metrics()["roomrec_worker_jobs_accepted_total"] == 0

        # The app token works for its app, and only sees its app's jobs.
        job_id = w.submit(ok, token=APP_TOKEN)
        assert w.wait_state(job_id, "completed", "failed")["state"] == "completed"
        assert w.job(job_id, token=SECRET)["app"] == "app"
        for token, status in ((OTHER_TOKEN, 404), (None, 401), ("nope-nope-nope-nope", 401)):
            assert w.request("GET", f"/api/convert/job/{job_id}", token=token)[0] == status
        assert w.request("GET", "/api/convert/job/job_000000000000000000000000")[0] == 404
        assert w.request("GET", "/api/convert/job/..%2f..%2fetc")[0] == 404
        assert w.request("GET", "/no/such/endpoint", token=None)[0] == 404

        assert w.request("GET", "/healthz", token=None) == (200, {"status": True, "data": {"state": "ok"}})
        status, spec = w.request("GET", "/api/spec", token=None)
        assert status == 200 and spec["openapi"].startswith("3.")
        assert set(spec["paths"]) == {"/api/convert/job", "/api/convert/job/{job_id}", "/healthz", "/metrics",
                                      "/api/spec"}
        assert set(spec["paths"]["/api/convert/job"]["post"]["responses"]) == {
            "200", "400", "401", "403", "413", "429", "500", "503"}
        m = w.metrics()
        assert m['roomrec_worker_http_requests_total{code="401"}'] == 5
        assert m['roomrec_worker_http_requests_total{code="413"}'] == 1
        assert w.stop() == 0
    assert SECRET not in w.log_text() and APP_TOKEN not in w.log_text()


def test_a_job_on_a_missing_recording_fails_with_a_failed_hook(tmp_path, local_rooms):
    root, _, _ = local_rooms
    hooks = HookReceiver(fail_first=2)  # the hook sender retries
    try:
        with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                    "--hook-uri", hooks.url, env={"SECRET": SECRET}) as w:
            job_id = w.submit({"record_path": "app/no-such-room/1731132577000", "transmux": {}})
            job = w.wait_state(job_id, "completed", "failed")
            assert job["state"] == "failed" and job["result"] is None
            assert "no recording found" in job["error"]
            raw = hooks.wait_for(job_id, 2)
            ts = [json.loads(r)["ts"] for r in raw]
            assert raw == [
                compact({"node": 0, "ts": ts[0], "event": {"Compose": {"app": "app", "job_id": job_id,
                                                                       "event": {"Started": {}}}}}),
                compact({"node": 0, "ts": ts[1], "event": {"Compose": {"app": "app", "job_id": job_id,
                                                                       "event": {"Failed": {"error": job["error"]}}}}}),
            ]
            m = w.metrics()
            assert m["roomrec_worker_hook_failed_attempts_total"] == 2
            assert m['roomrec_worker_jobs_finished_total{result="failed"}'] == 1
            assert w.stop() == 0
    finally:
        hooks.close()


def test_max_jobs_is_respected_under_20_concurrent_submissions(tmp_path, local_rooms, hooks):
    root, short, _ = local_rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--compose-s3-uri", str(tmp_path / "out"),
                "--max-jobs", "2", "--hook-uri", hooks.url, env={"SECRET": SECRET}) as w:
        ids, errors = [], []

        def submit():
            try:
                ids.append(w.submit({"record_path": short, "compose": {"audio": True, "video": True,
                                                                       "width": 160, "height": 120}}))
            except AssertionError as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=submit) for _ in range(20)]
        for t in threads:
            t.start()
        # The running-jobs gauge is one consistent snapshot of every job's state.
        seen_running = 0
        while True:
            m = w.metrics()
            seen_running = max(seen_running, m['roomrec_worker_jobs{state="running"}'])
            if not any(t.is_alive() for t in threads) and m['roomrec_worker_jobs{state="completed"}'] == 20:
                break
            assert m['roomrec_worker_jobs{state="failed"}'] == 0
        for t in threads:
            t.join()
        assert not errors and len(set(ids)) == 20
        assert all(w.job(i)["state"] == "completed" for i in ids)
        assert 1 <= seen_running <= 2
        m = w.metrics()
        assert m["roomrec_worker_running_jobs_peak"] == 2
        assert m["roomrec_worker_max_jobs"] == 2
        assert m['roomrec_worker_jobs{state="completed"}'] == 20
        for i in ids:  # every job: Started then Completed, in that order
            events = [list(json.loads(r)["event"]["Compose"]["event"]) for r in hooks.wait_for(i, 2)]
            assert events == [["Started"], ["Completed"]]
        assert len(list((tmp_path / "out" / "app" / "compose").rglob("*.webm"))) == 20
        assert w.stop() == 0


def test_a_job_in_flight_when_the_worker_is_killed_completes_after_a_restart(tmp_path, local_rooms, hooks):
    root, _, long = local_rooms
    state = tmp_path / "state"
    args = ("--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"), "--compose-s3-uri",
            str(tmp_path / "out"), "--state-dir", str(state), "--hook-uri", hooks.url)
    body = {"record_path": long, "transmux": {}, "compose": {"audio": True, "video": True, "width": 160, "height": 120}}
    w = Worker(tmp_path, *args, env={"SECRET": SECRET}).start()
    try:
        job_id = w.submit(body)
        w.wait_state(job_id, "running")
        w.proc.kill()
        w.proc.wait()
    finally:
        w.__exit__()
    saved = json.loads((state / f"{job_id}.json").read_text())
    assert saved["state"] == "running" and saved["attempts"] == 1
    assert oct((state / f"{job_id}.json").stat().st_mode & 0o777) == "0o600"

    with Worker(tmp_path, *args, env={"SECRET": SECRET}) as w2:
        job = w2.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job["error"]
        assert job["attempts"] == 2
        assert w2.metrics()["roomrec_worker_jobs_resumed_total"] == 1
        events = [list(json.loads(r)["event"]["Compose"]["event"]) for r in hooks.wait_for(job_id, 2)]
        assert events == [["Started"], ["Completed"]]  # Started once, from the accepting run
        day = day_path(job["accepted_ms"])
        webm = tmp_path / "out" / "app" / "compose" / day / f"{job_id}.webm"
        assert job["result"]["compose"]["media_uri"] == str(webm)
        probe = ffprobe(webm)
        assert float(probe["format"]["duration"]) > 25
        assert (tmp_path / "out" / "app" / "transmux" / day / job_id / "summary.json").is_file()
        assert w2.stop() == 0
    assert json.loads((state / f"{job_id}.json").read_text())["state"] == "completed"


def test_sigterm_lets_the_running_job_finish_and_keeps_the_queued_one(tmp_path, local_rooms, hooks):
    root, short, long = local_rooms
    state = tmp_path / "state"
    args = ("--input-s3-uri", str(root), "--compose-s3-uri", str(tmp_path / "out"), "--state-dir", str(state),
            "--max-jobs", "1", "--hook-uri", hooks.url)
    w = Worker(tmp_path, *args, "--grace-seconds", "300", env={"SECRET": SECRET}).start()
    try:
        running = w.submit({"record_path": long, "compose": {"audio": True, "video": False}})
        queued = w.submit({"record_path": short, "compose": {"audio": True, "video": False}})
        w.wait_state(running, "running")
        w.proc.send_signal(signal.SIGTERM)
        wait_until("healthz to report draining", lambda: w.request("GET", "/healthz", token=None)[0] == 503)
        status, answer = w.request("POST", "/api/convert/job", {"record_path": short, "compose": {}})
        assert (status, answer) == (503, {"status": False, "error": "the worker is shutting down"})
        assert w.stop() == 0
    finally:
        w.__exit__()
    states = {j: json.loads((state / f"{j}.json").read_text())["state"] for j in (running, queued)}
    assert states == {running: "completed", queued: "queued"}
    assert [list(json.loads(r)["event"]["Compose"]["event"]) for r in hooks.wait_for(running, 2)] == [
        ["Started"], ["Completed"]]
    assert len(hooks.raw_for(queued)) == 1  # Started only

    # Grace 0: the running job is cancelled and kept queued, no Failed hook.
    w = Worker(tmp_path, *args, "--grace-seconds", "0", env={"SECRET": SECRET}).start()
    try:
        w.wait_state(queued, "completed")
        again = w.submit({"record_path": long, "compose": {"audio": True, "video": True, "width": 160, "height": 120}})
        w.wait_state(again, "running")
        assert w.stop() == 0
    finally:
        w.__exit__()
    assert json.loads((state / f"{again}.json").read_text())["state"] == "queued"
    assert [list(json.loads(r)["event"]["Compose"]["event"]) for r in hooks.raw_for(again)] == [["Started"]]

    with Worker(tmp_path, *args, env={"SECRET": SECRET}) as w:
        assert w.wait_state(again, "completed", "failed")["state"] == "completed"
        assert w.stop() == 0


def test_refuses_to_start_without_a_secret_and_can_generate_one(tmp_path, local_rooms):
    root, short, _ = local_rooms
    exe = build_path("src", "bin", "convert_record_worker")
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET", "APPS_FILE")}
    r = subprocess.run([exe, "--input-s3-uri", str(root)], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 2 and "no secret" in r.stderr
    r = subprocess.run([exe, "--input-s3-uri", str(root), "--secret", "short"], capture_output=True, text=True,
                       env=env, timeout=30)
    assert r.returncode == 2 and "shorter than 16" in r.stderr and "short" not in r.stderr.replace("shorter", "")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "--input-s3-uri <INPUT_S3_URI>" in r.stdout and "--max-jobs" in r.stdout
    r = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("convert_record_worker ")

    w = Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
               "--generate-secret", env=env)
    with w:
        line = w.proc.stdout.readline()
        m = re.fullmatch(r"generated secret: ([0-9a-f]{64})\n", line)
        assert m, line
        assert w.request("POST", "/api/convert/job", {"record_path": short, "transmux": {}})[0] == 401
        job_id = w.submit({"record_path": short, "transmux": {}}, token=m.group(1))
        assert w.wait_state(job_id, "completed", "failed", token=m.group(1))["state"] == "completed"
        assert w.stop() == 0
    assert m.group(1) not in w.log_text()


def test_a_job_found_running_for_the_third_time_fails_with_a_binary_failed_hook(tmp_path, local_rooms, hooks):
    """A job the worker keeps dying on is not retried forever: the third time
    it is found running at start it fails, with a Failed hook."""
    root, short, _ = local_rooms
    state = tmp_path / "state"
    state.mkdir()
    job_id = "job_0123456789abcdef01234567"
    saved = {"job_id": job_id, "app": "app", "request": {"record_path": short, "transmux": {}},
             "accepted_ms": 1731132577000, "state": "running", "progress": 0.5, "attempts": 2, "crashes": 2,
             "started_ms": 1731132578000, "finished_ms": 0, "result": None, "error": ""}
    (state / f"{job_id}.json").write_text(json.dumps(saved))
    (state / "job_ffffffffffffffffffffffff.json").write_text("{not json")
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"), "--state-dir",
                str(state), "--hook-uri", hooks.url, "--hook-body-type", "protobuf-binary",
                env={"SECRET": SECRET}) as w:
        job = w.job(job_id)
        assert job["state"] == "failed" and job["attempts"] == 2
        assert job["error"] == "the worker stopped 3 times while converting this job; not trying again"
        assert wait_until("the Failed hook", lambda: hooks.bodies)
        content_type, body = hooks.bodies[0]
        assert content_type == "application/octet-stream"
        # HookEvent{node=1 (0: not written), ts=2, compose=6{app=1, job_id=2, failed=11{error=2}}}:
        # ts first (tag 0x10), the strings as they are.
        assert body[0] == 0x10 and job_id.encode() in body and job["error"].encode() in body
        assert "renamed *.bad" in w.log_text()
        # A deeply nested or huge-number body is an ordinary 400, not a crash.
        for raw in (b"[" * 20000 + b"]" * 20000, b'{"record_path": 1e999999}'):
            status, answer = w.request("POST", "/api/convert/job", raw=raw)
            assert status == 400 and answer["status"] is False
        assert w.request("GET", "/healthz", token=None)[0] == 200
        assert w.stop() == 0
    assert (state / "job_ffffffffffffffffffffffff.json.bad").is_file()
    assert json.loads((state / f"{job_id}.json").read_text())["state"] == "failed"


def test_finished_jobs_are_forgotten_after_the_retention_and_queued_ones_are_not(tmp_path, local_rooms):
    """--job-retention-seconds: a finished job leaves GET (404) and the state dir once its retention has
    passed, counted in /metrics; a queued or running job is never expired; a restart expires at once the
    finished jobs of its state dir that are past the retention, and keeps the others."""
    root, short, long = local_rooms
    state = tmp_path / "state"
    args = ["--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
            "--compose-s3-uri", str(tmp_path / "composed"), "--state-dir", str(state),
            "--max-jobs", "1", "--grace-seconds", "0"]
    with Worker(tmp_path, *args, "--job-retention-seconds", "2", env={"SECRET": SECRET}) as w:
        done = w.submit({"record_path": short, "transmux": {}})
        assert w.wait_state(done, "completed", "failed")["state"] == "completed"
        running = w.submit({"record_path": long, "compose": {}})  # tens of seconds: still running below
        queued = w.submit({"record_path": short, "transmux": {}})
        assert (state / f"{done}.json").exists()
        wait_until("the finished job to expire",
                   lambda: w.request("GET", f"/api/convert/job/{done}")[0] == 404, timeout=10, interval=0.2)
        assert not (state / f"{done}.json").exists()
        assert w.job(running)["state"] == "running" and w.job(queued)["state"] == "queued"
        assert (state / f"{running}.json").exists() and (state / f"{queued}.json").exists()
        assert w.metrics()["roomrec_worker_jobs_expired_total"] == 1
        assert w.stop() == 0  # grace 0: the running job goes back to queued

    # A finished job whose file says it ended long ago goes at the next start; a recent one stays.
    old, new = "job_" + "0" * 24, "job_" + "1" * 24
    for job_id, age_s in ((old, 3600), (new, 10)):
        stale = json.loads((state / f"{queued}.json").read_text())
        stale.update(job_id=job_id, state="failed", error="from an earlier run",
                     finished_ms=int(time.time() * 1000) - age_s * 1000)
        path = state / f"{job_id}.json"
        path.write_text(json.dumps(stale))
        path.chmod(0o600)
    with Worker(tmp_path, *args, "--job-retention-seconds", "600", env={"SECRET": SECRET}) as w:
        assert w.request("GET", f"/api/convert/job/{old}")[0] == 404
        assert not (state / f"{old}.json").exists()
        assert w.job(new)["error"] == "from an earlier run"
        assert w.metrics()["roomrec_worker_jobs_expired_total"] == 1
        assert "finished jobs past the retention removed" in w.log_text()
        assert w.stop(signal.SIGKILL) != 0
    # 0 keeps everything, however old.
    with Worker(tmp_path, *args, "--job-retention-seconds", "0", env={"SECRET": SECRET}) as w:
        assert w.job(new)["state"] == "failed"
        assert w.metrics()["roomrec_worker_jobs_expired_total"] == 0
        w.stop(signal.SIGKILL)


def test_the_completed_hook_lists_the_participant_files(tmp_path, local_rooms, hooks):
    """Issue 18: a job with participants; its Completed hook lists each participant file with how it
    was made (remuxed or re-encoded), the same files as the job's result."""
    root, short, _ = local_rooms
    with Worker(tmp_path, "--input-s3-uri", str(root), "--transmux-s3-uri", str(tmp_path / "out"),
                "--hook-uri", hooks.url, env={"SECRET": SECRET}) as w:
        job_id = w.submit({"record_path": short, "transmux": {}, "participants": {"multichannel": True}})
        job = w.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job
        people = job["result"]["participants"]
        started, completed = [json.loads(r)["event"]["Compose"]["event"] for r in hooks.wait_for(job_id, 2)]
        assert list(started) == ["Started"]
        listed = completed["Completed"]["participants"]
        assert listed["channels"] == [c["peer"] for c in people["channels"]]
        assert listed["files"] == [{k: f[k] or "" for k in ("path", "uri", "kind", "peer", "video", "video_reason",
                                                            "duration_ms")} for f in people["files"]]
        assert {f["video"] for f in listed["files"] if f["kind"] == "av"} <= {"remuxed", "reencoded"}
        assert all(pathlib.Path(f["uri"]).is_file() for f in listed["files"])
        # The transmux summary in the result lists them too.
        assert job["result"]["transmux"]["summary"]["participants"]["files"] == people["files"]
        assert w.stop() == 0
