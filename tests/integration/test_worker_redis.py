"""Issue 20: several convert_record_worker processes sharing one job queue on
Redis (--queue). A real redis-server (Debian) is started on a free loopback
port with its own folder and its persistence on (AOF, fsync always), three
workers on it, the S3 test server for recordings and outputs, a hook receiver.

Counts checked: 30 jobs posted round-robin, each completed exactly once (its
summary.json in S3, one Started and one Completed hook, identical GET bodies
on the three workers); one worker SIGKILLed mid-conversion, its job taken over
and completed by another (attempts 2, one Started, one Completed, no Failed);
Redis stopped mid-run then restarted: POST and GET answered 503 meanwhile,
then every accepted job completes exactly once; Redis running a worker's "finish" whose answer is lost
(a relay cuts the connection after Redis answered): the worker still sends the one Completed hook; bad
input on every worker.
Every wait is a poll with a deadline, never a timing assertion."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_worker import (BUCKET, SECRET, HookReceiver, Worker, day_path, record_room,  # noqa: E402
                         s3_client, s3_keys, wait_until)

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
from s3rver_fixture import S3Server  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

REDIS_USER = "roomrec"
REDIS_PASSWORD = "redis-pw-never-logged-4f1c9a"
LEASE = "2"  # seconds: short, so a dead worker's job is taken over quickly


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A redis-server of its own: loopback port, folder, ACL user, AOF with fsync always."""

    def __init__(self, folder):
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(self.binary, os.X_OK):
            pytest.fail("redis-server is not installed (Debian package redis-server; scripts/bootstrap installs it)")
        self.folder = folder
        self.port = free_port()
        self.proc = None
        self.log = folder / "redis.log"

    def start(self):
        # ACL lines (they have spaces: not command-line arguments). The default user keeps a password of its
        # own rather than being disabled: Redis 7.0 with "user default off" refuses to replay scripts' effects
        # from its AOF at restart (NOPERM "ACLs rules changed..."), which would lose the queue.
        conf = self.folder / "redis.conf"
        conf.write_text(f"user default on >other-{REDIS_PASSWORD[::-1]} ~* &* +@all\n"
                        f"user {REDIS_USER} on >{REDIS_PASSWORD} ~* &* +@all\n")
        args = [self.binary, str(conf), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.log)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited: {self.log.read_text() if self.log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(f"AUTH {REDIS_USER} {REDIS_PASSWORD}\r\nPING\r\n".encode())
                    data = b""
                    while b"PONG" not in data and b"-" not in data:
                        chunk = s.recv(100)
                        if not chunk:
                            break
                        data += chunk
                    return b"PONG" in data
            except OSError:
                return False
        wait_until("redis-server to answer", ready, timeout=30, interval=0.05)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    @property
    def url(self):
        return f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"


class ReplyCutProxy:
    """A TCP relay between the workers and Redis that can lose one answer on purpose: once armed with a
    RESP argument, it passes the next command carrying it to Redis, waits until Redis has answered (so the
    command ran), then closes both sides without relaying that answer, as when Redis stops or the network
    breaks between running a command and the answer arriving."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.armed = None
        self.cuts = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, argument):
        needle = argument.encode()
        with self.lock:
            self.armed = b"$%d\r\n%s\r\n" % (len(needle), needle)

    def url(self):
        return f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{self.port}/0"

    def close(self):
        self.closed = True
        self.listener.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            state = {"cut": False}
            threading.Thread(target=self._upstream, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, state), daemon=True).start()

    def _upstream(self, client, server, state):
        tail = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                window = tail + data
                tail = window[-64:]
                with self.lock:
                    hit = self.armed is not None and self.armed in window
                    if hit:
                        self.armed = None
                        state["cut"] = True  # the downstream pump drops what comes back, then closes
                server.sendall(data)
        except OSError:
            pass
        self._close(client, server)

    def _downstream(self, server, client, state):
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if state["cut"]:
                    with self.lock:
                        self.cuts += 1
                    break  # Redis answered: the command ran; its answer is lost with the connection
                client.sendall(data)
        except OSError:
            pass
        self._close(client, server)

    @staticmethod
    def _close(*sockets):
        """Either pump ending ends the relayed connection on both sides (the other pump then stops too)."""
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture(scope="module")
def s3():
    with S3Server(buckets=(BUCKET,)) as server:
        yield server


@pytest.fixture(scope="module")
def rooms(s3):
    """A 1 s room (transmux jobs) and a 30 s one (a compose that runs long enough to be killed)."""
    root = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/recordings?path_style=true"
    return root, record_room(root, "short", packets=50, sessions=1), record_room(root, "long", packets=1500)


@pytest.fixture
def redis(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Redis(folder).start()
    yield server
    server.stop()


@pytest.fixture
def hooks():
    receiver = HookReceiver()
    yield receiver
    receiver.close()


def start_workers(tmp_path, s3, rooms, redis, hooks, n=3, max_jobs=2, extra=()):
    input_root = rooms[0]
    out_root = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/out?path_style=true"
    workers = []
    for i in range(n):
        w = Worker(tmp_path, "--input-s3-uri", input_root, "--transmux-s3-uri", out_root, "--compose-s3-uri",
                   out_root, "--hook-uri", hooks.url, "--max-jobs", str(max_jobs), "--queue-lease-seconds", LEASE,
                   "--job-retention-seconds", "3600", "--node-id", str(i + 1), *extra,
                   env={"SECRET": SECRET, "QUEUE": redis.url})
        workers.append(w.start())
    return workers


def stop_all(workers):
    for w in workers:
        if w.proc and w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
        if not w.log.closed:
            w.log.close()


def compose_events(hooks, job_id):
    return [next(iter(json.loads(b)["event"]["Compose"]["event"])) for b in hooks.raw_for(job_id)]


def wait_finished(workers, job_ids, timeout=240):
    def all_done():
        states = {}
        for k, job_id in enumerate(job_ids):
            w = workers[k % len(workers)]
            status, answer = w.request("GET", f"/api/convert/job/{job_id}")
            if status != 200 or answer["data"]["state"] not in ("completed", "failed"):
                return None
            states[job_id] = answer["data"]
        return states
    return wait_until(f"{len(job_ids)} jobs to finish", all_done, timeout=timeout, interval=0.2)


def check_completed_once(workers, hooks, s3, job_ids):
    """Every job completed, its outputs in S3, one Started and one Completed hook, the same GET body everywhere."""
    jobs = wait_finished(workers, job_ids)
    c = s3_client(s3.endpoint)
    for job_id in job_ids:
        job = jobs[job_id]
        assert job["state"] == "completed", job
        wait_until(f"hooks of {job_id}", lambda: len(hooks.raw_for(job_id)) >= 2)
        assert sorted(compose_events(hooks, job_id)) == ["Completed", "Started"], compose_events(hooks, job_id)
        prefix = f"out/app/transmux/{day_path(job['accepted_ms'])}/{job_id}/"
        assert prefix + "summary.json" in s3_keys(c, prefix)
        bodies = {json.dumps(w.request("GET", f"/api/convert/job/{job_id}"), sort_keys=True) for w in workers}
        assert len(bodies) == 1, bodies
    return jobs


def check_logs(workers):
    for w in workers:
        log = w.log_text()
        assert REDIS_PASSWORD not in log and SECRET not in log and "S3RVER:S3RVER" not in log
        assert "redis://roomrec:***@127.0.0.1" in log


# ------------------------------------------------------------------- tests


def test_thirty_jobs_round_robin_each_completed_once(tmp_path, s3, rooms, redis, hooks):
    workers = start_workers(tmp_path, s3, rooms, redis, hooks)
    try:
        job_ids = [workers[k % 3].submit({"record_path": rooms[1], "transmux": {}}) for k in range(30)]
        assert len(set(job_ids)) == 30
        jobs = check_completed_once(workers, hooks, s3, job_ids)
        assert all(j["attempts"] == 1 for j in jobs.values())
        # No extra hook of any kind: 30 Started + 30 Completed.
        assert len(hooks.events()) == 60
        metrics = [w.metrics() for w in workers]
        assert sum(m["roomrec_worker_jobs_accepted_total"] for m in metrics) == 30
        assert sum(m['roomrec_worker_jobs_finished_total{result="completed"}'] for m in metrics) == 30
        for m in metrics:
            assert m["roomrec_worker_running_jobs_peak"] <= 2  # --max-jobs per worker
            assert m['roomrec_worker_queue_jobs{state="waiting"}'] == 0
            assert m['roomrec_worker_queue_jobs{state="running"}'] == 0
            assert m["roomrec_worker_queue_up"] == 1
        # Bad input, as without --queue, on every worker.
        for w in workers:
            ok = {"record_path": rooms[1], "transmux": {}}
            for token, body, status in ((None, ok, 401), ("wrong-token-0123456789", ok, 401),
                                        (SECRET, b"{not json", 400), (SECRET, {"record_path": "x"}, 400),
                                        (SECRET, b"{" + b" " * (70 * 1024) + b"}", 413)):
                raw = body if isinstance(body, bytes) else None
                got, answer = w.request("POST", "/api/convert/job", None if raw else body, token=token, raw=raw)
                assert (got, answer["status"]) == (status, False), answer
            assert w.request("GET", "/api/convert/job/job_000000000000000000000000")[0] == 404
            assert w.request("GET", f"/api/convert/job/{job_ids[0]}", token=None)[0] == 401
        for w in workers:
            assert w.stop() == 0
        check_logs(workers)
    finally:
        stop_all(workers)


def test_apps_token_403_on_every_worker(tmp_path, s3, rooms, redis, hooks):
    apps = tmp_path / "apps.json"
    other = "token-of-other-app-0123456789"
    apps.write_text(json.dumps({other: {"app": "other"}}))
    out_root = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/out?path_style=true"
    workers = [Worker(tmp_path, "--input-s3-uri", rooms[0], "--transmux-s3-uri", out_root, "--apps-file", str(apps),
                      env={"SECRET": SECRET, "QUEUE": redis.url}).start() for _ in range(3)]
    try:
        job_id = workers[0].submit({"record_path": rooms[1], "transmux": {}})
        for w in workers:
            got, answer = w.request("POST", "/api/convert/job", {"record_path": rooms[1], "transmux": {}}, token=other)
            assert got == 403 and "outside this token's app" in answer["error"]
            assert w.request("GET", f"/api/convert/job/{job_id}", token=other)[0] == 404  # another app's job
            assert w.wait_state(job_id, "completed", "failed")["state"] == "completed"
    finally:
        stop_all(workers)


def test_a_killed_worker_job_is_taken_over(tmp_path, s3, rooms, redis, hooks):
    workers = start_workers(tmp_path, s3, rooms, redis, hooks, max_jobs=1)
    try:
        body = {"record_path": rooms[2], "transmux": {},
                "compose": {"audio": True, "video": True, "width": 640, "height": 480, "fps": 30}}
        job_id = workers[0].submit(body)
        workers[1].wait_state(job_id, "running")

        def runner():
            for w in workers:
                if f"job {job_id}: converting" in w.log_text():
                    return w
        victim = wait_until("the worker converting the job", runner, interval=0.01)
        victim.proc.kill()  # mid-conversion: attempts == 2 below shows the first run was cut
        victim.proc.wait()
        survivors = [w for w in workers if w is not victim]

        job = wait_until("the job to finish elsewhere",
                         lambda: (lambda j: j if j["state"] in ("completed", "failed") else None)(
                             survivors[0].job(job_id)), timeout=240, interval=0.2)
        assert job["state"] == "completed", job
        assert job["attempts"] == 2  # the cut run, then the whole run again
        wait_until("the Completed hook", lambda: len(hooks.raw_for(job_id)) >= 2)
        time.sleep(1)  # a duplicate would have come by now
        assert sorted(compose_events(hooks, job_id)) == ["Completed", "Started"]
        assert sum(w.metrics()["roomrec_worker_jobs_taken_over_total"] for w in survivors) == 1
        c = s3_client(s3.endpoint)
        assert s3_keys(c, f"out/app/compose/{day_path(job['accepted_ms'])}/{job_id}.webm")
        assert survivors[0].request("GET", f"/api/convert/job/{job_id}") == \
            survivors[1].request("GET", f"/api/convert/job/{job_id}")
    finally:
        stop_all(workers)


def kill_the_runner(workers, job_id, runs):
    """SIGKILLs the worker that logs its `runs`-th start of job_id; returns it."""
    def runner():
        for w in workers:
            if w.proc.poll() is None and w.log_text().count(f"job {job_id}: converting") >= 1:
                total = sum(x.log_text().count(f"job {job_id}: converting") for x in workers)
                if total >= runs:
                    return w
    victim = wait_until(f"run {runs} of {job_id}", runner, interval=0.01)
    victim.proc.kill()
    victim.proc.wait()
    return victim


def test_a_job_whose_worker_dies_three_times_fails_once(tmp_path, s3, rooms, redis, hooks):
    """Killed at each of its three runs: the next worker fails it with one Failed hook instead of a fourth run."""
    workers = start_workers(tmp_path, s3, rooms, redis, hooks, max_jobs=1)
    try:
        body = {"record_path": rooms[2], "compose": {"audio": True, "video": True, "width": 640, "height": 480}}
        job_id = workers[0].submit(body)
        for run in (1, 2, 3):
            kill_the_runner(workers, job_id, run)
        workers += start_workers(tmp_path, s3, rooms, redis, hooks, n=1, max_jobs=1)  # the one left to notice
        job = workers[-1].wait_state(job_id, "failed", "completed")
        assert job["state"] == "failed" and "stopped 3 times" in job["error"], job
        assert job["attempts"] == 3
        wait_until("the Failed hook", lambda: len(hooks.raw_for(job_id)) >= 2)
        time.sleep(1)
        assert sorted(compose_events(hooks, job_id)) == ["Failed", "Started"]
    finally:
        stop_all(workers)


def test_sigterm_puts_a_running_job_back_for_another_worker(tmp_path, s3, rooms, redis, hooks):
    """--grace-seconds 0: the stopping worker cancels its conversion and puts the job back at once (no lease
    to wait for, no Failed hook); the other worker runs it."""
    workers = start_workers(tmp_path, s3, rooms, redis, hooks, n=2, max_jobs=1, extra=("--grace-seconds", "0"))
    try:
        body = {"record_path": rooms[2], "compose": {"audio": True, "video": True, "width": 640, "height": 480}}
        job_id = workers[0].submit(body)

        def runner():
            return next((w for w in workers if f"job {job_id}: converting" in w.log_text()), None)
        victim = wait_until("the worker converting the job", runner, interval=0.01)
        other = next(w for w in workers if w is not victim)
        victim.proc.send_signal(signal.SIGTERM)
        assert victim.proc.wait(timeout=120) == 0
        job = other.wait_state(job_id, "completed", "failed")
        assert job["state"] == "completed", job
        wait_until("the Completed hook", lambda: len(hooks.raw_for(job_id)) >= 2)
        assert sorted(compose_events(hooks, job_id)) == ["Completed", "Started"]
        assert f"job {job_id}: cancelled by shutdown, back in the queue" in victim.log_text()
        assert job["attempts"] == 2
        assert other.metrics()["roomrec_worker_jobs_taken_over_total"] == 0  # put back, not taken over
    finally:
        stop_all(workers)


def test_redis_down_then_back(tmp_path, s3, rooms, redis, hooks):
    workers = start_workers(tmp_path, s3, rooms, redis, hooks)
    try:
        accepted = [workers[k % 3].submit({"record_path": rooms[1], "transmux": {}}) for k in range(9)]
        redis.stop()
        # Meanwhile: POST and GET answered 503 with a clear error, by every worker.
        for w in workers:
            got, answer = wait_until("a 503", lambda: (lambda r: r if r[0] == 503 else None)(
                w.request("POST", "/api/convert/job", {"record_path": rooms[1], "transmux": {}})))
            assert "job queue" in answer["error"] and "unreachable" in answer["error"], answer
            assert REDIS_PASSWORD not in answer["error"]
            got, answer = w.request("GET", f"/api/convert/job/{accepted[0]}")
            assert got == 503 and "unreachable" in answer["error"]
            assert w.metrics()["roomrec_worker_queue_up"] == 0
        time.sleep(3)  # down for a while (longer than the lease)
        redis.start()
        # Accepted again once the workers have reconnected.
        for w in workers:
            status = wait_until("POST accepted again", lambda: (lambda r: r if r[0] == 200 else None)(
                w.request("POST", "/api/convert/job", {"record_path": rooms[1], "transmux": {}})))
            accepted.append(status[1]["data"]["job_id"])
        check_completed_once(workers, hooks, s3, accepted)
        time.sleep(1)
        assert len(hooks.events()) == 2 * len(accepted)  # nothing lost, nothing twice
        check_logs(workers)
    finally:
        stop_all(workers)


def test_a_lost_answer_to_a_finished_job_still_sends_its_hook(tmp_path, s3, rooms, redis, hooks):
    """Redis runs a worker's "finish" (the job completed, its lease entry acknowledged) but the answer never
    arrives: the connection breaks first. The worker reconnects and asks again; the entry is gone, and it
    must recognise its own end rather than drop the run as someone else's: one Completed hook, no lost
    lease. (Before the fix this is how Redis stopping mid-run lost a Completed hook now and then.)"""
    proxy = ReplyCutProxy(redis.port)
    workers = []
    try:
        w = Worker(tmp_path, "--input-s3-uri", rooms[0], "--transmux-s3-uri",
                   f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/{BUCKET}/out?path_style=true", "--hook-uri", hooks.url,
                   "--max-jobs", "1", "--queue-lease-seconds", LEASE, "--job-retention-seconds", "3600",
                   "--node-id", "1", env={"SECRET": SECRET, "QUEUE": proxy.url()})
        workers.append(w.start())
        proxy.arm("finish")
        job_id = w.submit({"record_path": rooms[1], "transmux": {}})
        check_completed_once(workers, hooks, s3, [job_id])
        assert proxy.cuts == 1, "the impairment did not happen: the finish's answer was not cut"
        time.sleep(1)
        assert len(hooks.events()) == 2
        assert w.metrics()["roomrec_worker_jobs_lost_lease_total"] == 0
        assert "this run's end is dropped" not in w.log_text()
        check_logs(workers)
    finally:
        stop_all(workers)
        proxy.close()


def test_queue_flag_errors_never_show_the_password(tmp_path):
    binary = os.path.join(os.path.abspath(BUILD), "src", "bin", "convert_record_worker")
    for url, fragment in ((f"redis://u:{REDIS_PASSWORD}@host:notaport/0", "port"),
                          (f"rediss://u:{REDIS_PASSWORD}@host:6380/0", "TLS"),
                          (f"http://u:{REDIS_PASSWORD}@host/0", "redis://"),
                          (f"redis://u:{REDIS_PASSWORD}@host:6379/zero", "database")):
        r = subprocess.run([binary, "--input-s3-uri", str(tmp_path), "--queue", url], capture_output=True, text=True,
                           env=dict(os.environ, SECRET=SECRET), timeout=30)
        assert r.returncode == 2 and fragment in r.stderr, r.stderr
        assert REDIS_PASSWORD not in r.stderr + r.stdout
    r = subprocess.run([binary, "--input-s3-uri", str(tmp_path), "--state-dir", str(tmp_path / "s"), "--queue",
                        "redis://127.0.0.1:1/0"], capture_output=True, text=True,
                       env=dict(os.environ, SECRET=SECRET), timeout=30)
    assert r.returncode == 2 and "not both" in r.stderr
