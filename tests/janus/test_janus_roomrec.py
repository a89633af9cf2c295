"""janus.plugin.roomrec end to end: real WebRTC clients (aiortc, headless
Chromium) publish through Janus 1.1.2 into roomrec; the recordings are
converted with convert_record_cli and checked with ffmpeg as a person would
check them (every file decodes, durations, chat messages, both peers on the
composed picture, both voices in its audio).

Run by `meson test --suite janus` inside tests/janus/netns.sh; ROOMREC_BUILD_DIR
names the build (the plugin and the CLI). Nothing here is skipped: a missing
part fails with the reason.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt  # Debian python3-jwt: an implementation independent of the plugin's libjwt
import numpy as np
import pytest

import janus_env

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
from s3rver_fixture import S3Server  # noqa: E402

PLUGIN_NAME = "janus.plugin.roomrec"
APP = "e2e"
SECRET = "e2e-secret-7f3a91c2"


def build_dir():
    b = os.environ.get("ROOMREC_BUILD_DIR")
    if not b:
        pytest.fail("ROOMREC_BUILD_DIR is not set (run through meson test --suite janus)", pytrace=False)
    return Path(b)


@pytest.fixture(scope="module")
def built():
    b = build_dir()
    # ROOMREC_JANUS_PLUGIN: another build of the plugin (an installed one, an
    # instrumented one) to test instead of the build tree's.
    plugin = Path(os.environ.get("ROOMREC_JANUS_PLUGIN") or b / "integrations" / "janus" / "libjanus_roomrec.so")
    cli = b / "src" / "bin" / "convert_record_cli"
    inspect = b / "examples" / "chunk_inspect"
    for p in (plugin, cli, inspect):
        if not p.is_file():
            pytest.fail(f"{p} was not built", pytrace=False)
    # Janus dlopens the plugin through a symlink: its $ORIGIN rpath does not
    # reach the build tree's libroomrec.so. Under scripts/test --sanitize the
    # plugin is instrumented, so Janus (only Janus) starts with the ASan runtime.
    env = {"LD_LIBRARY_PATH": str(b)}
    if os.environ.get("ROOMREC_JANUS_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["ROOMREC_JANUS_PRELOAD"]
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    return {"plugin": plugin, "cli": cli, "inspect": inspect, "env": env}


@pytest.fixture
def roomrec_janus(janus_factory, built):
    """roomrec_janus(plugin_config(...), **JanusServer kwargs) -> a started Janus with the plugin."""
    return lambda cfg, **kw: janus_factory([built["plugin"]], cfg, env=built["env"], **kw)


def token(room, peer, record=True, exp_in=600, secret=SECRET, app=APP):
    return jwt.encode({"app": app, "room": room, "peer": peer, "record": record,
                       "exp": int(time.time()) + exp_in}, secret, algorithm="HS256")


def join(room, peer, **kw):
    return {"request": "join", "token": token(room, peer, **kw)}


def plugin_config(recorder, general=""):
    return {f"{PLUGIN_NAME}.jcfg": f"general: {{\n{general}\n}}\napps: {{\n  {APP} = \"{SECRET}\"\n  other = \"x\"\n}}\n"
                                   f"recorder: {{\n{recorder}\n}}\n"}


class HookReceiver:
    """Keeps every hook POSTed to it."""

    def __init__(self):
        self.events = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.events.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- checking outputs ------------------------------------------------------------

def convert(cli, source, out, compose=True):
    cmd = [str(cli), "--in-s3", str(source), "--transmux", "--transmux-out-path", str(out / "transmux"), "-q"]
    if compose:
        cmd += ["--compose-audio", "--compose-video", "--compose-out-path", str(out / "composed.webm"),
                "--compose-size", "640x360"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def decodes_cleanly(path):
    # Decoded frame by frame with the file's own timestamps (passthrough): a
    # live camera's frames may come closer together than ffmpeg's guessed
    # output rate, which is no decoding error.
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-fps_mode", "passthrough", "-f", "null", "-"],
                       capture_output=True, text=True, timeout=120)
    return p.returncode == 0 and p.stderr.strip() == "", p.stderr[-1000:]


def probe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,codec_type",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    return float(j["format"]["duration"]), {s["codec_type"]: s["codec_name"] for s in j["streams"]}


def pcm(path, rate=16000):
    p = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", str(rate),
                        "-f", "f32le", "-"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return np.frombuffer(p.stdout, dtype=np.float32)


def dominant_hz(samples, rate=16000):
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spec[:int(80 * len(samples) / rate)] = 0  # ignore hum and DC
    return float(np.argmax(spec)) * rate / len(samples)


def band_energy(samples, hz, rate=16000, width=25):
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    f = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spec[(f > hz - width) & (f < hz + width)].sum()
    return band / spec.sum()


def gray_frame(path, at, w=64, h=36):
    p = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
                        "-vf", f"scale={w}:{h},format=gray", "-f", "rawvideo", "-"], capture_output=True, timeout=60)
    assert p.returncode == 0 and len(p.stdout) == w * h, p.stderr
    return np.frombuffer(p.stdout, dtype=np.uint8).reshape(h, w)


def data_lines(path):
    out = []
    for line in Path(path).read_text().splitlines():
        j = json.loads(line)
        out.append(j["text"] if not j["binary"] else {"b64": j["base64"]})
    return out


def files_of(result, peer):
    return [f for f in result["transmux"]["files"] if f["peer"] == peer]


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def one_recording(folder):
    """The single room recording below a local upload folder: app/room/record_id."""
    recs = sorted(p for p in Path(folder).glob(f"{APP}/*/*") if p.is_dir())
    assert len(recs) == 1, recs
    return recs[0]


def check_tracks(result, peer, published_s, video="vp8"):
    files = files_of(result, peer)
    codecs = sorted(f["codec"] for f in files)
    assert codecs == sorted(["opus", video]), files
    for f in files:
        ok, err = decodes_cleanly(f["uri"])
        assert ok, f"{f['uri']} does not decode cleanly: {err}"
        dur, streams = probe(f["uri"])
        assert abs(dur - published_s) <= 0.1 * published_s, (f["uri"], dur, published_s)
        assert list(streams.values()) == [f["codec"]], streams
    return files


MESSAGES_A = ["hello from aiortc", {"b64": base64.b64encode(bytes(range(256))).decode()}, "{\"n\": 3}", "last one"]
MESSAGES_B = ["hello from chromium", "zwei", "última"]


# ---- the tests -------------------------------------------------------------------

def test_aiortc_and_chromium_in_one_room_to_s3_with_hooks(built, roomrec_janus, aiortc_factory, chromium_factory,
                                                         tmp_path):
    hooks = HookReceiver()
    try:
        with S3Server(buckets=("rec",)) as s3:
            uri = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/rec/prefix?path_style=true"
            janus = roomrec_janus(plugin_config(f"""
                max_chunk_ms = 3000
                store: {{ spill_dir = "{tmp_path / 'spill'}" }}
                upload: {{ uri = "{uri}" }}
                hooks: {{ url = "{hooks.url}" node = 7 }}"""))
            alice = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room1", "alice"), seconds=6,
                                   label="chat", messages=MESSAGES_A)
            bob = chromium_factory(janus.base_url, PLUGIN_NAME, join("room1", "bob"), seconds=6,
                                   label="chat", messages=MESSAGES_B)
            ra, rb = alice.result(), bob.result()
            for r in (ra, rb):
                assert r["error"] is None and r["joined"] and r["ice_connected"], r
                joined = r["events"][0]["data"]
                assert joined["result"] == "joined" and joined["recording"] is True, r["events"]
                assert r["leave_reply"] == {"roomrec": "event", "result": "left"}, r
            # An orderly stop waits for the uploads (and the hooks).
            janus.stop()
            room_path = f"prefix/{APP}/room1"
            started = [e for e in hooks.events if "Record" in e["event"] and "Started" in e["event"]["Record"]["event"]]
            assert len(started) == 1, hooks.events
            rec = started[0]["event"]["Record"]
            assert started[0]["node"] == 7 and rec["app"] == APP and rec["room"] == "room1", started
            path = rec["event"]["Started"]["path"]
            assert path.startswith(room_path + "/"), path
            joined = sorted(e["event"]["Record"]["event"]["PeerJoined"]["peer"] for e in hooks.events
                            if "PeerJoined" in e["event"].get("Record", {}).get("event", {}))
            assert joined == ["alice", "bob"], hooks.events
            source = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/rec/{path}?path_style=true"
            result = convert(built["cli"], source, tmp_path / "out")
    finally:
        hooks.close()

    check_tracks(result, "alice", ra["published_seconds"])
    check_tracks(result, "bob", rb["published_seconds"])
    # roomrec asked for a keyframe when bob's video started recording: the
    # plugin's PLI reached Chromium's encoder (rate-limited to 1/s per m-line).
    assert 1 <= rb["sent"]["video"]["plis"] <= rb["published_seconds"] + 2, rb["sent"]["video"]
    data = {d["peer"]: d for d in result["transmux"]["data_files"]}
    assert data_lines(data["alice"]["uri"]) == MESSAGES_A
    assert data_lines(data["bob"]["uri"]) == MESSAGES_B
    assert data["alice"]["label"] == data["bob"]["label"] == "chat"

    # The composed room: both peers on the picture, both voices in the audio.
    composed = tmp_path / "out" / "composed.webm"
    ok, err = decodes_cleanly(composed)
    assert ok, err
    dur, streams = probe(composed)
    assert streams == {"video": "vp8", "audio": "opus"}, streams
    assert dur >= max(ra["published_seconds"], rb["published_seconds"]) * 0.9
    # Two tiles side by side, each showing a picture (not the flat canvas) that
    # moves: aiortc's bar over black, Chromium's fake camera (content-neutral
    # checks: tile order and brightness differ between the two).
    f1 = gray_frame(composed, dur / 2).astype(float)
    f2 = gray_frame(composed, dur / 2 + 1).astype(float)
    for half in (slice(0, 32), slice(32, 64)):
        assert f1[:, half].std() > 8, f1[:, half].std()
        assert np.abs(f1[:, half] - f2[:, half]).mean() > 0.5, np.abs(f1[:, half] - f2[:, half]).mean()
    tracks = {(f["peer"], f["codec"]): f["uri"] for f in result["transmux"]["files"]}
    mix = pcm(composed)
    for peer in ("alice", "bob"):
        voice = pcm(tracks[(peer, "opus")])
        hz = dominant_hz(voice)
        assert band_energy(mix, hz) > 0.02, (peer, hz, band_energy(mix, hz))


def test_chromium_h264_is_recorded_and_transmuxed(built, roomrec_janus, chromium_factory, tmp_path):
    rec = tmp_path / "recordings"
    janus = roomrec_janus(plugin_config(f'upload: {{ uri = "{rec}" }}'))
    r = chromium_factory(janus.base_url, PLUGIN_NAME, join("h264room", "carol"), seconds=5, codec="H264",
                         label="chat", messages=["h264 here"]).result()
    assert r["error"] is None and r["codecs"]["video"] == "H264/90000", r
    janus.stop()
    result = convert(built["cli"], one_recording(rec), tmp_path / "out", compose=False)
    files = check_tracks(result, "carol", r["published_seconds"], video="h264")
    assert any(f["uri"].endswith(".mp4") and f["codec"] == "h264" and f["container"] == "mp4" for f in files), files
    # The negotiated RFC 8285 extensions are in the chunks with their ids.
    first = sorted(one_recording(rec).glob("carol/*/*.rec"))[0]
    p = subprocess.run([str(built["inspect"]), "--rows", str(first)], capture_output=True, text=True, timeout=60)
    started = [l for l in p.stdout.splitlines() if " track_started " in l]
    video = next(l for l in started if " h264/90000" in l)
    audio = next(l for l in started if " opus/48000" in l)
    cvo = video.split(" cvo=")[1].split()[0]
    assert f"{cvo}:urn:3gpp:video-orientation" in video, video
    assert "urn:ietf:params:rtp-hdrext:sdes:mid" in video, video
    assert "urn:ietf:params:rtp-hdrext:ssrc-audio-level" in audio, audio


def chunk_rows(inspect, session_dir):
    """Row kinds of a session's chunks, in order (chunk_inspect --rows)."""
    kinds = []
    for f in sorted(Path(session_dir).glob("*.rec")):
        p = subprocess.run([str(inspect), "--rows", str(f)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit():
                kinds.append(parts[1])
    return kinds


def test_late_joiner_and_a_killed_client(built, roomrec_janus, aiortc_factory, tmp_path):
    rec = tmp_path / "recordings"
    # A short Janus session timeout so the killed client is noticed soon.
    janus = roomrec_janus(plugin_config(f"""
        max_chunk_ms = 2000
        upload: {{ uri = "{rec}" }}"""), session_timeout=4)
    early = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room2", "early"), seconds=9, label="chat",
                           messages=["first"])
    late = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room2", "late"), seconds=4, delay=3, label="chat",
                          messages=["late hello"])
    victim = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room2", "victim"), seconds=30)
    victim.wait_publishing()
    t_publishing = time.monotonic()
    time.sleep(3)
    victim.kill(signal.SIGKILL)
    killed_after = time.monotonic() - t_publishing
    re_, rl = early.result(), late.result()
    assert re_["error"] is None and rl["error"] is None, (re_, rl)
    room = one_recording(rec)
    # The victim's session ends with a leave row once Janus times its session out.
    victim_dir = wait_until(lambda: next(iter(sorted(room.glob("victim/*"))), None), 10, "the victim's session")
    rows = wait_until(lambda: (k := chunk_rows(built["inspect"], victim_dir)) and k[-1] == "leave" and k, 20,
                      "the killed client's leave row")
    assert rows[0] == "join" and rows.count("track_stopped") == 2, rows[:5] + rows[-5:]
    janus.stop()

    result = convert(built["cli"], room, tmp_path / "out")
    check_tracks(result, "early", re_["published_seconds"])
    check_tracks(result, "late", rl["published_seconds"])
    victim_files = files_of(result, "victim")
    assert len(victim_files) == 2, victim_files
    for f in victim_files:
        ok, err = decodes_cleanly(f["uri"])
        assert ok, err
        # The media stops when the client died, whatever Janus's timeout added.
        assert (f["end"] - f["start"]) / 1000 <= killed_after + 1.0, (f, killed_after)
    starts = {f["peer"]: f["start"] for f in result["transmux"]["files"] if f["codec"] == "opus"}
    assert 2500 <= starts["late"] - starts["early"] <= 6000, starts
    data = {d["peer"]: data_lines(d["uri"]) for d in result["transmux"]["data_files"]}
    assert data == {"early": ["first"], "late": ["late hello"]}, data


def test_pause_and_resume_requests(built, roomrec_janus, aiortc_factory, tmp_path):
    """{"request":"pause"/"resume"} (issue 18): the paused time is not recorded, one file per track across it."""
    rec = tmp_path / "recordings"
    janus = roomrec_janus(plugin_config(f"""
        upload: {{ uri = "{rec}" }}"""))
    p = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room-pause", "pia"), seconds=9,
                       requests=[[2, {"request": "pause"}], [2.5, {"request": "pause"}],
                                 [5, {"request": "resume"}], [6, {"request": "pause", "mline": 1}],
                                 [7, {"request": "resume", "mline": 1}], [7.2, {"request": "resume", "mline": 9}]])
    r = p.result()
    assert r["error"] is None, r
    replies = r["request_replies"]
    assert [x.get("result") for x in replies[:5]] == ["paused", None, "resumed", "paused", "resumed"], replies
    assert "already paused" in replies[1]["error"], replies[1]
    assert replies[3]["mline"] == 1
    assert "not recorded" in replies[5]["error"], replies[5]
    janus.stop()
    result = convert(built["cli"], one_recording(rec), tmp_path / "out", compose=False)
    files = files_of(result, "pia")
    assert len(files) == 2, files  # one per track: the pauses split nothing
    for f in files:
        ok, err = decodes_cleanly(f["uri"])
        assert ok, err
    session = next(iter(result["transmux"]["summary"]["peers"]["pia"]["sessions"].values()))
    assert len(session["pauses"]) == 1, session
    paused = session["pauses"][0]["end"] - session["pauses"][0]["start"]
    assert 2500 <= paused <= 3500, session["pauses"]
    video = [f for f in files if f["codec"] == "vp8"][0]
    assert 3400 <= video["paused_ms"] <= 4600, video  # the session's 3 s and the video's own 1 s


def test_refused_joins_record_nothing(built, roomrec_janus, aiortc_factory, tmp_path):
    rec = tmp_path / "recordings"
    janus = roomrec_janus(plugin_config(f'upload: {{ uri = "{rec}" }}'))
    cases = [
        ({"request": "join", "token": token("r", "forger", secret="not-the-secret")}, 445, "signature not valid"),
        ({"request": "join", "token": token("r", "late", exp_in=-30)}, 445, "expired"),
        ({"request": "join", "token": token("r", "x", app="unknown")}, 445, "signature not valid"),
        ({"request": "join"}, 443, "missing \"token\""),
        ({"request": "dance"}, 442, "unknown request"),
    ]
    for body, code, text in cases:
        r = aiortc_factory(janus.base_url, PLUGIN_NAME, body, seconds=1).result()
        assert not r["joined"], r
        assert r["error"]["error_code"] == code and text in r["error"]["error"], r["error"]
        assert "eyJ" not in r["error"]["error"]  # the token is never echoed

    # A malformed offer: refused (by Janus's own SDP parser), nothing recorded,
    # and the server keeps serving.
    s = janus_env.JanusSession(janus.base_url)
    h = s.attach(PLUGIN_NAME)
    with pytest.raises(janus_env.JanusError, match="Janus error 465"):  # JANUS_ERROR_JSEP_INVALID_SDP
        h.message(join("r", "mangled"), {"type": "offer", "sdp": "v=0\r\nm=video banana\r\n"})
    s.destroy()

    # record: false joins and publishes without being recorded.
    r = aiortc_factory(janus.base_url, PLUGIN_NAME, join("r", "shy", record=False), seconds=2,
                       label="chat", messages=["not recorded"]).result()
    assert r["error"] is None and r["ice_connected"], r
    assert r["events"][0]["data"]["recording"] is False
    assert r["sent"]["video"]["packets"] > 10
    janus.stop()
    assert not rec.exists() or not any(p.is_file() for p in rec.rglob("*")), list(rec.rglob("*"))


def test_janus_killed_mid_recording_uploads_each_closed_chunk_once_after_restart(built, roomrec_janus,
                                                                               aiortc_factory, tmp_path):
    spill = tmp_path / "spill"
    dead = janus_env.free_port()  # nothing listens: uploads fail while Janus runs
    with S3Server(buckets=("rec",)) as s3:
        def config(port):
            return plugin_config(f"""
                max_chunk_ms = 1000
                store: {{ spill_dir = "{spill}" durable = true durable_background = true }}
                upload: {{ uri = "http://S3RVER:S3RVER@127.0.0.1:{port}/rec/k?path_style=true"
                           retry_initial_ms = 200 retry_max_ms = 1000 }}""")
        janus = roomrec_janus(config(dead))
        pub = aiortc_factory(janus.base_url, PLUGIN_NAME, join("room3", "dave"), seconds=30)
        pub.wait_publishing()
        time.sleep(5)
        janus.kill(signal.SIGKILL)
        pub.kill()
        closed = sorted(p.name for p in spill.glob("*.rec"))
        assert len(closed) >= 3, closed  # about one chunk a second was closed and kept

        # Restart against a reachable S3: every closed chunk goes up once.
        (janus.conf / f"{PLUGIN_NAME}.jcfg").write_text(config(s3.port)[f"{PLUGIN_NAME}.jcfg"])
        janus.start()
        wait_until(lambda: not list(spill.glob("*.rec")), 30, "the recovered chunks to be uploaded")
        janus.stop()
        import boto3
        from botocore.config import Config
        c = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                         region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        keys = [o["Key"] for page in c.get_paginator("list_objects_v2").paginate(Bucket="rec", Prefix="k/")
                for o in page.get("Contents", [])]
        names = sorted(k.rsplit("/", 1)[1] for k in keys)
        assert len(names) == len(set(names)) == len(closed), (names, closed)
        indexes = sorted(int(n.split("-")[0]) for n in names)
        assert indexes == list(range(len(indexes))), indexes
        room = "/".join(keys[0].split("/")[:4])  # k/app/room/record_id
        result = convert(built["cli"], f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/rec/{room}?path_style=true",
                         tmp_path / "out", compose=False)
    assert sorted(f["codec"] for f in files_of(result, "dave")) == ["opus", "vp8"]
    for f in files_of(result, "dave"):
        ok, err = decodes_cleanly(f["uri"])
        assert ok, err
        # What was closed before the kill: about one second per chunk.
        assert (f["end"] - f["start"]) / 1000 >= len(closed) - 2, (f, len(closed))
