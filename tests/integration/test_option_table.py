"""Issue 16: options are validated once, in the library (roomrec::validate).

One table of bad values goes through every front end that can express it:
the C ABI (build/tests/convert_job_json -> roomrec_convert), Python
(roomrec.convert and roomrec.ConvertJob over ctypes), convert_record_cli
(flags) and convert_record_worker (POST /api/convert/job). Each must refuse
the value with the same message, word for word: the message comes from the
one validation, not from each front end."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from test_worker import SECRET, HookReceiver, Worker, record_room, wait_until  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

EVEN = "compose.width and compose.height must be even, 16x16 to 7680x4320"
VBR = "compose.video_bitrate must be 50000..50000000 bit/s"
ABR = "compose.audio_bitrate must be 6000..510000 bit/s"

# (compose JSON fields, transmux JSON fields, CLI flags or None, worker fields or None, message).
# The worker fields go into the request's compose object, or its transmux object for a transmux-only row.
# None: that front end has no way to say it (the worker does not expose threads, the CLI always
# composes audio or video). Compose fields are spelled the same in C, Python and the worker.
CASES = [
    ({"fps": 0}, None, ["--compose-fps", "0"], {"fps": 0}, "compose.fps must be 1..120"),
    ({"fps": 121}, None, ["--compose-fps", "121"], {"fps": 121}, "compose.fps must be 1..120"),
    ({"width": 321}, None, ["--compose-size", "321x240"], {"width": 321}, EVEN),
    ({"height": 5000}, None, ["--compose-size", "1280x5000"], {"height": 5000}, EVEN),
    ({"width": 8}, None, ["--compose-size", "8x720"], {"width": 8}, EVEN),
    ({"video_codec": "h265"}, None, ["--compose-codec", "h265"], {"video_codec": "h265"},
     "compose.video_codec must be vp8, vp9 or h264"),
    ({"audio_codec": "mp3"}, None, ["--compose-audio-codec", "mp3"], {"audio_codec": "mp3"},
     "compose.audio_codec must be opus or aac"),
    ({"audio_codec": "aac"}, None, ["--compose-audio-codec", "aac"], {"audio_codec": "aac"},
     "compose.audio_codec aac goes into MP4, which needs compose.video_codec h264 (vp8 and vp9 compose into WebM with opus)"),
    ({"video_codec": "h264", "thumbnail_interval_s": 5}, None, ["--compose-codec", "h264", "--compose-thumbnails", "5"],
     None, "compose.thumbnail_interval_s needs a WebM compose (video_codec vp8 or vp9)"),
    ({"video_bitrate": 10_000}, None, ["--compose-video-bitrate", "10k"], {"video_bitrate": 10_000}, VBR),
    ({"video_bitrate": 60_000_000}, None, ["--compose-video-bitrate", "60M"], {"video_bitrate": 60_000_000}, VBR),
    ({"audio_bitrate": 1000}, None, ["--compose-audio-bitrate", "1k"], {"audio_bitrate": 1000}, ABR),
    ({"audio_bitrate": 600_000}, None, ["--compose-audio-bitrate", "600k"], {"audio_bitrate": 600_000}, ABR),
    ({"audio": False, "video": False}, None, None, {"audio": False, "video": False},
     "compose needs audio, video or both"),
    ({"threads": 0}, None, None, None, "compose.threads must be 1..64"),
    ({"threads": 65}, None, ["--threads", "65"], None, "compose.threads must be 1..64"),
    ({"keyframe_interval_s": 0}, None, None, None, "compose.keyframe_interval_s must be 1..3600"),
    ({"cpu_used": 17}, None, None, None, "compose.cpu_used must be -16..16"),
    ({"cpu_used": -(2 ** 40)}, None, None, None, "compose.cpu_used must be -16..16"),
    ({"layout": "mosaic"}, None, ["--compose-layout", "mosaic"], {"layout": "mosaic"},
     "compose.layout must be grid, speaker, single-speaker or presentation, or a JSON layout ({\"regions\": [...]})"),
    ({"layout": {"regions": [{"x": 0.5, "w": 0.6, "role": "speaker"}]}}, None,
     ["--compose-layout", '{"regions": [{"x": 0.5, "w": 0.6, "role": "speaker"}]}'],
     {"layout": {"regions": [{"x": 0.5, "w": 0.6, "role": "speaker"}]}},
     "compose.layout.regions[0].x + compose.layout.regions[0].w must be at most 1"),
    ({"layout": {"regions": [{"role": "host"}]}}, None, ["--compose-layout", '{"regions": [{"role": "host"}]}'],
     {"layout": {"regions": [{"role": "host"}]}}, "compose.layout.regions[0].role must be speaker, screen or others"),
    ({"layout": {"regions": [{"peer": "alice"}], "changes": [{"at": "1:75", "layout": "grid"}]}}, None,
     ["--compose-layout", '{"regions": [{"peer": "alice"}], "changes": [{"at": "1:75", "layout": "grid"}]}'],
     {"layout": {"regions": [{"peer": "alice"}], "changes": [{"at": "1:75", "layout": "grid"}]}},
     "compose.layout.changes[0].at must be the time from the start: seconds, or \"[h:]mm:ss[.fff]\""),
    ({"layout": "{\"regions\": ["}, None, ["--compose-layout", '{"regions": ['], {"layout": "{\"regions\": ["},
     "compose.layout is not valid JSON (a custom layout is an object: {\"regions\": [...]})"),
    ({"speaker_hold_ms": 60001}, None, ["--compose-speaker-hold", "60001"], {"speaker_hold_ms": 60001},
     "compose.speaker_hold_ms must be 0..60000"),
    ({"speaker_lead_ms": 5001}, None, ["--compose-speaker-lead", "5001"], {"speaker_lead_ms": 5001},
     "compose.speaker_lead_ms must be 0..5000"),
    ({"video": False, "layout": "speaker"}, None, None, {"video": False, "layout": "speaker"},
     "compose.layout, compose.names and compose.speaker_border need video"),
    ({"video": False, "names": True}, None, None, {"video": False, "names": True},
     "compose.layout, compose.names and compose.speaker_border need video"),
    ({"thumbnail_interval_s": 3601}, None, ["--compose-thumbnails", "3601"], {"thumbnail_interval_s": 3601},
     "compose.thumbnail_interval_s must be 0..3600 (0: none)"),
    ({"video": False, "thumbnail_interval_s": 10}, None, None, {"video": False, "thumbnail_interval_s": 10},
     "compose.thumbnail_interval_s needs video"),
    (None, {"threads": 300}, ["--transmux", "--threads", "300"], None,
     "transmux.threads must be 0..256 (0: one per core)"),
    (None, {"format": "mov"}, ["--transmux", "--transmux-format", "mov"], {"format": "mov"},
     "transmux.format must be auto, webm, mkv or mp4"),
    (None, {"format": "MP4"}, ["--transmux", "--transmux-format", "MP4"], {"format": "MP4"},
     "transmux.format must be auto, webm, mkv or mp4"),
    (None, {"mp4_mode": "progressive"}, ["--transmux", "--transmux-mp4-mode", "progressive"],
     {"mp4_mode": "progressive"}, "transmux.mp4_mode must be faststart or fragmented"),
    ({"pause_mode": "skip"}, None, ["--pause-mode", "skip"], {"pause_mode": "skip"},
     "compose.pause_mode must be keep or cut"),
    ({"pause_mode": "KEEP"}, None, ["--pause-mode", "KEEP"], {"pause_mode": "KEEP"},
     "compose.pause_mode must be keep or cut"),
    (None, {"pause_mode": "drop"}, ["--transmux", "--pause-mode", "drop"], None,
     "transmux.pause_mode must be keep or cut"),
]
IDS = [f"{i}-{c[4].split(' ')[0]}" for i, c in enumerate(CASES)]


def build_path(*parts):
    return os.path.join(os.path.abspath(BUILD), *parts)


def job_json(tmp_path, compose, transmux):
    job = {"input": str(tmp_path / "in")}
    if compose is not None:
        job["compose"] = {"output": str(tmp_path / "out.webm"), **compose}
    if transmux is not None:
        job["transmux"] = {"output": str(tmp_path / "out"), **transmux}
    return job


@pytest.fixture(scope="module")
def roomrec_module():
    os.environ.setdefault("ROOMREC_LIBRARY", build_path("libroomrec.so.2"))
    os.environ.setdefault("ROOMREC_CONVERT_LIBRARY", build_path("libroomrec-convert.so.2"))
    sys.path.insert(0, str(ROOT / "bindings" / "python"))
    import roomrec
    return roomrec


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("option-table-worker")
    (tmp / "rec").mkdir()
    hooks = HookReceiver()
    w = Worker(tmp, "--secret", SECRET, "--max-jobs", "1", "--input-s3-uri", str(tmp / "rec"),
               "--compose-s3-uri", str(tmp / "compose"), "--transmux-s3-uri", str(tmp / "transmux"),
               "--state-dir", str(tmp / "state"), "--hook-uri", hooks.url)
    w.start()
    w.root = tmp
    w.hooks = hooks
    yield w
    w.stop()
    hooks.close()


@pytest.mark.parametrize("compose, transmux, cli, worker_fields, message", CASES, ids=IDS)
def test_one_bad_value_one_message_through_c(tmp_path, compose, transmux, cli, worker_fields, message):
    r = subprocess.run([build_path("tests", "convert_job_json"), json.dumps(job_json(tmp_path, compose, transmux))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    code, _, text = r.stdout.strip().partition(" ")
    assert code == "-1", r.stdout  # ROOMREC_ERR_INVALID_ARGUMENT
    assert text == message


@pytest.mark.parametrize("compose, transmux, cli, worker_fields, message", CASES, ids=IDS)
def test_one_bad_value_one_message_through_python(roomrec_module, tmp_path, compose, transmux, cli, worker_fields,
                                                   message):
    roomrec = roomrec_module
    job = job_json(tmp_path, compose, transmux)
    for run in (lambda: roomrec.convert(job), lambda: roomrec.ConvertJob(job)):
        with pytest.raises(roomrec.InvalidArgumentError) as e:
            run()
        assert e.value.message == message


@pytest.mark.parametrize("compose, transmux, cli, worker_fields, message",
                         [c for c in CASES if c[2] is not None], ids=[i for i, c in zip(IDS, CASES) if c[2] is not None])
def test_one_bad_value_one_message_through_the_cli(tmp_path, compose, transmux, cli, worker_fields, message):
    args = [build_path("src", "bin", "convert_record_cli"), "--in-s3", str(tmp_path / "in"), "-q"]
    if compose is not None:
        args += ["--compose-audio", "--compose-video", "--compose-out-path", str(tmp_path / "out.webm")]
    if "--transmux" in cli:
        args += ["--transmux-out-path", str(tmp_path / "out")]
    r = subprocess.run(args + cli, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"convert_record_cli: error: {message}"


@pytest.mark.parametrize("compose, transmux, cli, worker_fields, message",
                         [c for c in CASES if c[3] is not None], ids=[i for i, c in zip(IDS, CASES) if c[3] is not None])
def test_one_bad_value_one_message_through_the_worker(worker, compose, transmux, cli, worker_fields, message):
    part = "compose" if compose is not None else "transmux"
    status, answer = worker.request("POST", "/api/convert/job",
                                    {"record_path": "app/room/1731132577000", part: worker_fields})
    assert status == 400, answer
    assert answer == {"status": False, "error": message}


def test_the_worker_refuses_the_old_spellings_of_new_requests(worker):
    """compose.codec and compose.video_bitrate_kbps were renamed (one name per concept, bit/s)."""
    for field, value in (("codec", "vp8"), ("video_bitrate_kbps", 1500)):
        status, answer = worker.request("POST", "/api/convert/job",
                                        {"record_path": "app/room/1731132577000", "compose": {field: value}})
        assert (status, answer["error"]) == (400, f"unknown field compose.{field}")


def test_a_worker_job_with_speakers_writes_speakers_json(worker):
    """Issue 19 through the worker: transmux.speakers (a field of its own, validated like the rest)."""
    path = record_room(str(worker.root / "rec"), "talk", 150, sessions=2)
    status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "transmux": {"speakers": "yes"}})
    assert (status, answer["error"]) == (400, "transmux.speakers must be true or false")
    status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "transmux": {"speakers": True}})
    assert status == 200, answer
    job = worker.wait_state(answer["data"]["job_id"], "completed", "failed")
    assert job["state"] == "completed", job
    speakers = job["result"]["transmux"]["speakers"]
    assert len(speakers["peers"]) == 2 and all(p["spans"] for p in speakers["peers"]), speakers
    written = list((worker.root / "transmux").rglob("speakers.json"))
    assert len(written) == 1 and json.loads(written[0].read_text()) == speakers
    # The Completed hook carries who spoke when and where speakers.json is (fields beyond the reference's).
    job_id = answer["data"]["job_id"]
    wait_until("the Completed hook", lambda: any("Completed" in e["event"]["Compose"]["event"]
                                                 for e in worker.hooks.events()
                                                 if e["event"]["Compose"]["job_id"] == job_id))
    completed = next(e["event"]["Compose"]["event"]["Completed"] for e in worker.hooks.events()
                     if e["event"]["Compose"]["job_id"] == job_id and "Completed" in e["event"]["Compose"]["event"])
    assert completed["speakers"] == {p["peer"]: {"spans": [{"start": s["start"], "end": s["end"]} for s in p["spans"]]}
                                     for p in speakers["peers"]}
    assert completed["outputs"] == [{"kind": "speakers", "uri": str(written[0]), "peer": "", "duration_ms":
                                     job["result"]["transmux"]["duration_ms"], "bytes": written[0].stat().st_size,
                                     "how": ""}]


# Issue 18, participants: (participants JSON fields, CLI flags, message). The worker picks the
# output itself (a folder under its transmux root), so only C, Python and the CLI can say these.
PRESIGNED = "http://127.0.0.1:9/bucket/people?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
PARTICIPANT_CASES = [
    ({"output": PRESIGNED}, ["--participants-out-path", PRESIGNED],
     "participants.output must be an S3 URI with credentials or a folder, not a presigned URL"),
    ({"output": "people", "threads": 300}, ["--participants-out-path", "people", "--threads", "300"],
     "participants.threads must be 0..256 (0: one per core)"),
    ({"output": "ftp://host/people"}, ["--participants-out-path", "ftp://host/people"],
     "participants.output: unsupported URI scheme 'ftp' (use http(s):// for S3, file:// or a path for a local folder)"),
]
PARTICIPANT_IDS = [f"participants-{i}" for i in range(len(PARTICIPANT_CASES))]


@pytest.mark.parametrize("fields, cli, message", PARTICIPANT_CASES, ids=PARTICIPANT_IDS)
def test_one_bad_participants_value_one_message_through_c_python_and_the_cli(roomrec_module, tmp_path, fields, cli,
                                                                               message):
    job = {"input": str(tmp_path / "in"), "participants": fields}
    r = subprocess.run([build_path("tests", "convert_job_json"), json.dumps(job)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.strip() == f"-1 {message}"
    for run in (lambda: roomrec_module.convert(job), lambda: roomrec_module.ConvertJob(job)):
        with pytest.raises(roomrec_module.InvalidArgumentError) as e:
            run()
        assert e.value.message == message
    r = subprocess.run([build_path("src", "bin", "convert_record_cli"), "--in-s3", str(tmp_path / "in"), "-q",
                        "--participants"] + cli, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"convert_record_cli: error: {message}"


def test_a_worker_job_with_participants_writes_one_file_per_peer(worker):
    """Issue 18 through the worker: participants (its own fields, validated like the rest), the
    files in the transmux root, listed in the result with how each was made, each decoding."""
    path = record_room(str(worker.root / "rec"), "people", 150, sessions=2)
    for fields, message in (({"multichannel": "yes"}, "participants.multichannel must be true or false"),
                            ({"speaker_audio": 1}, "participants.speaker_audio must be true or false"),
                            ({"output": "/tmp/x"}, "unknown field participants.output"),
                            (True, "participants must be an object")):
        status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "participants": fields})
        assert (status, answer["error"]) == (400, message)
    status, answer = worker.request("POST", "/api/convert/job",
                                    {"record_path": path, "participants": {"multichannel": True}})
    assert status == 200, answer
    job = worker.wait_state(answer["data"]["job_id"], "completed", "failed")
    assert job["state"] == "completed", job
    assert job["participants"] is True
    people = job["result"]["participants"]
    kinds = sorted((f["kind"], f["peer"] or "") for f in people["files"])
    peers = sorted({f["peer"] for f in people["files"] if f["peer"]})
    assert len(peers) == 2, people
    assert kinds == sorted([("av", p) for p in peers] + [("audio", p) for p in peers] + [("multichannel", "")])
    assert [c["peer"] for c in people["channels"]] == peers
    for f in people["files"]:
        assert f["uri"].startswith(str(worker.root / "transmux")), f
        assert f["duration_ms"] == people["duration_ms"]
        if f["kind"] == "av":
            assert f["video"] in ("remuxed", "reencoded"), f
        r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", f["uri"], "-f", "null", "-"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and not r.stderr.strip(), (f["path"], r.stderr)
    written = list((worker.root / "transmux").rglob("participants.json"))
    assert len(written) == 1 and json.loads(written[0].read_text())["files"] == people["files"]


# Issue 18, consent: the job's selection, through every front end (the C ABI and Python as the
# job JSON's "selection", the worker as the request's "selection", the CLI as flags).
SELECTION_CASES = [
    ({"include_peers": ["alice"], "exclude_peers": ["alice"]}, ["--include-peers", "alice", "--exclude-peers", "alice"],
     'selection: peer "alice" is both in include_peers and in exclude_peers'),
    ({"exclude_peers": ["bob", ""]}, ["--exclude-peers", "bob,"], "selection.exclude_peers[1] is empty"),
    ({"include_peers": ["a", "a"]}, ["--include-peers", "a,a"], 'selection.include_peers[1] repeats "a"'),
    ({"exclude_tracks": ["alice/"]}, ["--exclude-tracks", "alice/"],
     'selection.exclude_tracks[0] must be "peer/track" or "track", got "alice/"'),
    ({"exclude_peers": ["bob"], "exclude_tracks": ["bob/video_main"]},
     ["--exclude-peers", "bob", "--exclude-tracks", "bob/video_main"],
     'selection.exclude_tracks[0] names a track of "bob", a peer the selection leaves out already'),
]
SEL_IDS = [f"sel{i}" for i in range(len(SELECTION_CASES))]


@pytest.mark.parametrize("selection, cli, message", SELECTION_CASES, ids=SEL_IDS)
def test_a_bad_selection_one_message_through_c_and_python(roomrec_module, tmp_path, selection, cli, message):
    job = job_json(tmp_path, None, {})
    job["selection"] = selection
    r = subprocess.run([build_path("tests", "convert_job_json"), json.dumps(job)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.strip() == f"-1 {message}"
    with pytest.raises(roomrec_module.InvalidArgumentError) as e:
        roomrec_module.convert(job)
    assert e.value.message == message


@pytest.mark.parametrize("selection, cli, message", SELECTION_CASES, ids=SEL_IDS)
def test_a_bad_selection_one_message_through_the_cli(tmp_path, selection, cli, message):
    args = [build_path("src", "bin", "convert_record_cli"), "--in-s3", str(tmp_path / "in"), "-q", "--transmux",
            "--transmux-out-path", str(tmp_path / "out")]
    r = subprocess.run(args + cli, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == f"convert_record_cli: error: {message}"


@pytest.mark.parametrize("selection, cli, message", SELECTION_CASES, ids=SEL_IDS)
def test_a_bad_selection_one_message_through_the_worker(worker, selection, cli, message):
    status, answer = worker.request("POST", "/api/convert/job",
                                    {"record_path": "app/room/1731132577000", "transmux": {}, "selection": selection})
    assert status == 400, answer
    assert answer == {"status": False, "error": message}


def test_the_worker_checks_transmux_pause_mode_and_selection_types(worker):
    for body, message in (({"transmux": {"pause_mode": "drop"}}, "transmux.pause_mode must be keep or cut"),
                          ({"transmux": {"pause_mode": 1}}, "transmux.pause_mode must be a string"),
                          ({"transmux": {}, "selection": {"exclude_peers": "bob"}},
                           "selection.exclude_peers must be an array of strings"),
                          ({"transmux": {}, "selection": {"peers": ["bob"]}}, "unknown field selection.peers")):
        status, answer = worker.request("POST", "/api/convert/job", {"record_path": "app/room/1731132577000", **body})
        assert (status, answer["error"]) == (400, message), body


def test_a_worker_job_with_a_selection_leaves_the_peer_out(worker):
    """Consent through the worker: an excluded peer is in no file, summary or result."""
    path = record_room(str(worker.root / "rec"), "consent", 150, sessions=2)
    summary_peers = None
    status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "transmux": {"pause_mode": "cut"}})
    assert status == 200, answer
    job = worker.wait_state(answer["data"]["job_id"], "completed", "failed")
    assert job["state"] == "completed", job
    summary_peers = sorted(job["result"]["transmux"]["summary"]["peers"])
    assert len(summary_peers) == 2, summary_peers
    left_out = summary_peers[1]
    status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "transmux": {},
                                                                 "selection": {"exclude_peers": [left_out]}})
    assert status == 200, answer
    job = worker.wait_state(answer["data"]["job_id"], "completed", "failed")
    assert job["state"] == "completed", job
    assert left_out not in json.dumps(job["result"])
    assert sorted(job["result"]["transmux"]["summary"]["peers"]) == [summary_peers[0]]


def test_a_worker_job_with_thumbnails(worker):
    """Issue 19 through the worker: compose.thumbnail_interval_s makes the thumbnails beside the composed
    file; the result and the Completed hook's outputs say where the WebVTT track is."""
    path = record_room(str(worker.root / "rec"), "thumbs", 150, sessions=1)
    status, answer = worker.request("POST", "/api/convert/job", {"record_path": path, "compose": {
        "width": 320, "height": 240, "thumbnail_interval_s": 1}})
    assert status == 200, answer
    job_id = answer["data"]["job_id"]
    job = worker.wait_state(job_id, "completed", "failed")
    assert job["state"] == "completed", job
    compose = job["result"]["compose"]
    vtt = pathlib.Path(compose["thumbnails_vtt"])
    assert vtt.parent == pathlib.Path(compose["media_uri"]).with_suffix("").parent / (
        pathlib.Path(compose["media_uri"]).stem + "-thumbnails")
    cues = vtt.read_text().split("\n\n")
    assert cues[0] == "WEBVTT" and len(cues) - 1 == compose["thumbnails"] >= 3, compose
    completed = wait_until("the Completed hook", lambda: next(
        (e["event"]["Compose"]["event"]["Completed"] for e in worker.hooks.events()
         if e["event"]["Compose"]["job_id"] == job_id and "Completed" in e["event"]["Compose"]["event"]), None))
    assert completed["outputs"] == [{"kind": "thumbnails", "uri": str(vtt), "peer": "", "bytes": 0,
                                     "duration_ms": compose["duration_ms"], "how": ""}]
    assert "speakers" not in completed
