"""convert_record_cli as a process: the seed's usage text, flags and
environment variables, clear failures, and rooms recorded by
examples/record_synthetic converted from a local folder and from the S3 test
server, with every output checked by ffprobe."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
from s3rver_fixture import S3Server  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

# The usage text of ../shared/seed/recording.md, verbatim.
SEED_USAGE = """Record file converter for atm0s-media-server. This tool allow convert room raw record to multiple webm files

Usage: convert_record_cli [OPTIONS] --in-s3 <IN_S3>

Options:
      --in-s3 <IN_S3>                          S3 Source [env: IN_S3=]
      --transmux                               Transmux [env: TRANSMUX=]
      --transmux-out-s3 <TRANSMUX_OUT_S3>      Transmux S3 Dest [env: TRANSMUX_OUT_S3=]
      --transmux-out-path <TRANSMUX_OUT_PATH>  Transmux Folder Dest [env: TRANSMUX_OUT_PATH=]
      --compose-audio                          Compose audio [env: COMPOSE_AUDIO=]
      --compose-video                          Compose video [env: COMPOSE_VIDEO=]
      --compose-out-s3 <COMPOSE_OUT_S3>        Compose S3 URL [env: COMPOSE_OUT_S3=]
      --compose-out-path <COMPOSE_OUT_PATH>    Compose File Path [env: COMPOSE_OUT_PATH=]
  -h, --help                                   Print help
  -V, --version                                Print version
"""

ENV_NAMES = ["IN_S3", "TRANSMUX", "TRANSMUX_OUT_S3", "TRANSMUX_OUT_PATH", "COMPOSE_AUDIO", "COMPOSE_VIDEO",
             "COMPOSE_OUT_S3", "COMPOSE_OUT_PATH", "COMPOSE_SIZE", "COMPOSE_FPS", "COMPOSE_VIDEO_BITRATE",
             "COMPOSE_AUDIO_BITRATE", "COMPOSE_CODEC", "THREADS"]


def cli_path():
    return os.path.join(BUILD, "src", "bin", "convert_record_cli")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env.update(extra)
    return env


def cli(*args, env=None, timeout=300):
    return subprocess.run([cli_path(), *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else clean_env())


def record(out, *extra):
    r = subprocess.run([os.path.join(BUILD, "examples", "record_synthetic"), "--out", out, *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def probe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "format=duration:stream=codec_type,codec_name,width,height,channels", "-of", "json",
                        str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def decodes_cleanly(path):
    r = subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0 and r.stderr.strip() == "", r.stderr


@pytest.fixture(scope="module")
def local_room(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec")
    return record(str(root), "--peers", "3", "--seconds", "6", "--size", "320x240")


# ---- usage -------------------------------------------------------------------

def test_help_prints_the_seed_usage_first():
    for flag in ("-h", "--help"):
        r = cli(flag)
        assert r.returncode == 0
        assert r.stdout.startswith(SEED_USAGE), r.stdout[:600]
        for extra in ("--compose-size", "--compose-fps", "--compose-video-bitrate", "--compose-audio-bitrate",
                      "--compose-codec", "--threads"):
            assert extra in r.stdout


def test_version():
    for flag in ("-V", "--version"):
        r = cli(flag)
        assert r.returncode == 0
        assert r.stdout.startswith("convert_record_cli ")
        assert r.stdout.strip().split()[1].count(".") == 2


@pytest.mark.parametrize("args,env,needle", [
    ([], {}, "--in-s3"),
    (["--in-s3", "/x"], {}, "nothing to do"),
    (["--in-s3", "/x", "--transmux"], {}, "--transmux-out-path"),
    (["--in-s3", "/x", "--transmux", "--transmux-out-path", "a", "--transmux-out-s3", "http://k:s@h/b"], {}, "not both"),
    (["--in-s3", "/x", "--transmux-out-path", "a"], {}, "without --transmux"),
    (["--in-s3", "/x", "--compose-audio"], {}, "--compose-out-path"),
    (["--in-s3", "/x", "--compose-out-path", "a.webm"], {}, "without --compose-audio"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-size", "12x"], {}, "size"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-size", "641x360"], {}, "even"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-fps", "0"], {}, "compose.fps must be 1..120"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-fps", "1.5"], {}, "--compose-fps"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-codec", "h265"], {}, "vp8, vp9 or h264"),
    (["--in-s3", "/x", "--compose-video", "--compose-out-path", "a.webm", "--compose-video-bitrate", "fast"], {},
     "bitrate"),
    (["--in-s3", "/x", "--bogus"], {}, "unexpected argument '--bogus'"),
    (["--in-s3"], {}, "needs a value"),
    (["--in-s3", "/x", "--in-s3", "/y", "--transmux"], {}, "more than once"),
    (["--in-s3", "/x", "--transmux=maybe"], {}, "true or false"),
    (["--transmux-out-path", "o"], {"IN_S3": "/x", "TRANSMUX": "perhaps"}, "TRANSMUX"),
    (["--in-s3", "http://k:s@host/", "--transmux", "--transmux-out-path", "o"], {}, "bucket"),
    (["--in-s3", "/x", "--transmux", "--transmux-out-s3", "ftp://nope"], {}, "takes an S3 URI"),
    (["--in-s3", "ftp://host/x", "--transmux", "--transmux-out-path", "o"], {}, "unsupported URI scheme"),
    (["--in-s3", "/x", "--participants"], {}, "--participants-out-path"),
    (["--in-s3", "/x", "--participants-out-path", "p"], {}, "without --participants"),
    (["--in-s3", "/x", "--participants", "--participants-out-path", "p", "--participants-multichannel=sure"], {},
     "true or false"),
])
def test_bad_usage_exits_2_with_a_reason(args, env, needle, tmp_path):
    r = cli(*args, env=clean_env(**env))
    assert r.returncode == 2, (r.returncode, r.stderr)
    first = r.stderr.strip().splitlines()[0]
    assert first.startswith("convert_record_cli: error: "), r.stderr
    assert needle in first, first
    assert r.stdout == ""


def test_failures_exit_1_with_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (str(empty), "no recording"),
        (str(tmp_path / "missing"), ""),
        # Nothing listens on port 9 of localhost: S3 is unreachable.
        ("http://K:S@127.0.0.1:9/bucket/app/room/1?path_style=true", ""),
    ]
    for src, needle in cases:
        r = cli("--in-s3", src, "--transmux", "--transmux-out-path", str(tmp_path / "out"), "-q")
        assert r.returncode == 1, (src, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.startswith("convert_record_cli: error: ")]
        assert len(lines) == 1, r.stderr
        assert needle in lines[0]
        assert "S:" not in lines[0] or "K:S@" not in lines[0]  # no secret in messages
        assert r.stdout == ""


# ---- conversions ---------------------------------------------------------------

def check_transmux_folder(folder, result, peers=3):
    summary = json.loads((folder / "summary.json").read_text())
    assert summary == result["transmux"]["summary"]
    for d in result["transmux"]["data_files"]:
        lines = [json.loads(l) for l in (folder / d["path"]).read_text().splitlines()]
        assert lines and all("time" in l and "text" in l for l in lines), d
    assert len(summary["peers"]) == peers
    files = result["transmux"]["files"]
    assert len(files) == 2 * peers
    for f in files:
        path = folder / f["path"]
        info = probe(path)
        kinds = [s["codec_type"] for s in info["streams"]]
        assert kinds == (["video"] if f["track"].startswith("video") else ["audio"])
        ok, err = decodes_cleanly(path)
        assert ok, (f["path"], err)
        dur = float(info["format"]["duration"])
        assert abs(dur * 1000 - (f["end"] - f["start"])) < 300, (f, dur)


def test_local_transmux_and_compose(local_room, tmp_path):
    out = tmp_path / "out"
    r = cli("--in-s3", local_room, "--transmux", "--transmux-out-path", str(out / "t"), "--compose-audio",
            "--compose-video", "--compose-out-path", str(out / "room.webm"), "--compose-size", "640x360",
            "--compose-fps", "10", "--compose-video-bitrate", "800k", "--compose-audio-bitrate", "48k")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["app"] == "demo" and result["room"] == "demo-room"
    check_transmux_folder(out / "t", result)
    info = probe(out / "room.webm")
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert video[0]["codec_name"] == "vp8" and (video[0]["width"], video[0]["height"]) == (640, 360)
    assert audio[0]["codec_name"] == "opus"
    assert abs(float(info["format"]["duration"]) * 1000 - result["compose"]["duration_ms"]) < 200
    assert 5500 < result["compose"]["duration_ms"] < 6500
    assert result["compose"]["media_uri"].endswith("room.webm")
    ok, err = decodes_cleanly(out / "room.webm")
    assert ok, err
    # Not a terminal: plain progress lines, ending at 100%.
    progress = [l for l in r.stderr.splitlines() if l.startswith("progress ")]
    assert progress and progress[-1].startswith("progress 100%")


def test_environment_variables_replace_flags(local_room, tmp_path):
    env = clean_env(IN_S3=local_room, COMPOSE_AUDIO="true", COMPOSE_VIDEO="0",
                    COMPOSE_OUT_PATH=str(tmp_path / "a.webm"), COMPOSE_CODEC="vp9")
    r = cli("-q", env=env)
    assert r.returncode == 0, r.stderr
    assert "progress" not in r.stderr
    info = probe(tmp_path / "a.webm")
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    # A flag wins over its variable.
    r = cli("--compose-out-path", str(tmp_path / "b.webm"), "-q", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b.webm").is_file()


def test_vp9_compose_and_file_uri_input(local_room, tmp_path):
    r = cli("--in-s3", "file://" + local_room, "--compose-video", "--compose-codec", "vp9",
            "--compose-out-path", str(tmp_path / "v.webm"), "--compose-size", "320x180", "--threads", "2", "-q")
    assert r.returncode == 0, r.stderr
    info = probe(tmp_path / "v.webm")
    assert [s["codec_name"] for s in info["streams"]] == ["vp9"]


@pytest.mark.parametrize("video", ["vp9", "h264"])
def test_other_camera_codecs_transmux(video, tmp_path):
    room = record(str(tmp_path / "rec"), "--peers", "2", "--seconds", "3", "--size", "320x240", "--video", video)
    r = cli("--in-s3", room, "--transmux", "--transmux-out-path", str(tmp_path / "t"), "-q")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    check_transmux_folder(tmp_path / "t", result, peers=2)
    ext = {"vp9": ".webm", "h264": ".mp4"}[video]
    assert sum(f["path"].endswith(ext) and f["codec"] == video for f in result["transmux"]["files"]) == 2


def test_interrupt_stops_with_130(local_room, tmp_path):
    proc = subprocess.Popen([cli_path(), "--in-s3", local_room, "--compose-video", "--compose-out-path",
                             str(tmp_path / "i.webm"), "--compose-size", "1920x1080", "--compose-fps", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    # Wait until it is composing, then interrupt.
    line = proc.stderr.readline()
    while line and "compose" not in line:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the compose finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert out == ""


def test_s3_in_and_out(tmp_path):
    with S3Server(buckets=("rec", "out")) as s3:
        base = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}"
        shown = record(f"{base}/rec/recordings?path_style=true", "--peers", "2", "--seconds", "4",
                       "--size", "320x240")
        # The secret is not printed (issue 21 item 9): given again to use the location.
        assert "S3RVER:S3RVER" not in shown and "S3RVER:***@" in shown
        room = shown.replace("S3RVER:***@", "S3RVER:S3RVER@")
        assert room.startswith(base + "/rec/recordings/demo/demo-room/") and room.endswith("?path_style=true")
        r = cli("--in-s3", room, "--transmux", "--transmux-out-s3", f"{base}/out/transmux/job1?path_style=true",
                "--compose-audio", "--compose-video",
                "--compose-out-s3", f"{base}/out/compose/job1.webm?path_style=true", "--compose-thumbnails", "2",
                "-q")
        assert r.returncode == 0, r.stderr
        assert "S3RVER:S3RVER" not in r.stdout + r.stderr
        result = json.loads(r.stdout)
        c = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                         region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        keys = {o["Key"] for o in c.list_objects_v2(Bucket="out").get("Contents", [])}
        expected = {"transmux/job1/" + f["path"] for f in result["transmux"]["files"]}
        # Each peer's chat channel comes out as JSON lines.
        assert len(result["transmux"]["data_files"]) == 2
        expected |= {"transmux/job1/" + f["path"] for f in result["transmux"]["data_files"]}
        expected |= {"transmux/job1/summary.json", "compose/job1.webm"}
        # Thumbnails of an S3 output go up beside it under {key stem}-thumbnails/ (issue 19).
        thumbs = {k for k in keys if k.startswith("compose/job1-thumbnails/")}
        jpegs = sorted(k for k in thumbs if k.startswith("compose/job1-thumbnails/job1-0"))
        assert result["compose"]["thumbnails"] == len(jpegs) >= 2, (result["compose"], thumbs)
        assert result["compose"]["thumbnails_vtt"] == "compose/job1-thumbnails/job1.vtt"
        assert thumbs == set(jpegs) | {"compose/job1-thumbnails/job1-sprite.jpg", "compose/job1-thumbnails/job1.vtt"}
        vtt = c.get_object(Bucket="out", Key="compose/job1-thumbnails/job1.vtt")
        assert vtt["ContentType"] == "text/vtt"
        cues = vtt["Body"].read().decode().split("\n\n")
        assert cues[0] == "WEBVTT" and len(cues) - 1 == len(jpegs)
        assert all("job1-sprite.jpg#xywh=" in cue for cue in cues[1:])
        sprite = tmp_path / "sprite.jpg"
        sprite.write_bytes(c.get_object(Bucket="out", Key="compose/job1-thumbnails/job1-sprite.jpg")["Body"].read())
        ok, err = decodes_cleanly(sprite)
        assert ok, err
        assert not list(pathlib.Path(os.environ.get("TMPDIR", "/tmp")).glob("roomrec-compose-*-thumbnails"))
        assert keys - thumbs == expected
        summary = json.loads(c.get_object(Bucket="out", Key="transmux/job1/summary.json")["Body"].read())
        assert set(summary["peers"]) == {"alice", "bob"}
        media = tmp_path / "job1.webm"
        media.write_bytes(c.get_object(Bucket="out", Key="compose/job1.webm")["Body"].read())
        info = probe(media)
        assert sorted(s["codec_type"] for s in info["streams"]) == ["audio", "video"]
        ok, err = decodes_cleanly(media)
        assert ok, err
        for f in result["transmux"]["files"][:2]:
            p = tmp_path / f["path"]
            p.write_bytes(c.get_object(Bucket="out", Key="transmux/job1/" + f["path"])["Body"].read())
            ok, err = decodes_cleanly(p)
            assert ok, err


def test_speakers_json_beside_the_transmuxed_files(local_room, tmp_path):
    """Issue 19: --speakers writes who spoke when; the room's peers make a steady tone, so each
    peer with audio speaks for (nearly) all of its audio, in one span within its session."""
    out = tmp_path / "t"
    r = cli("-q", "--in-s3", local_room, "--transmux", "--transmux-out-path", str(out), "--speakers")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    speakers = json.loads((out / "speakers.json").read_text())
    assert speakers == result["transmux"]["speakers"]
    audio = {}
    for f in result["transmux"]["files"]:
        if f["codec"] == "opus":
            audio.setdefault(f["peer"], []).append((f["start"], f["end"]))
    assert sorted(p["peer"] for p in speakers["peers"]) == sorted(audio)
    for p in speakers["peers"]:
        assert p["spans"], p
        assert p["speaking_ms"] >= 0.8 * p["audio_ms"], p
        for s in p["spans"]:
            assert any(a - 250 <= s["start"] and s["end"] <= b + 250 for a, b in audio[p["peer"]]), (s, audio)
    assert [t["start"] for t in speakers["timeline"]] == sorted(t["start"] for t in speakers["timeline"])
    r = cli("--in-s3", local_room, "--compose-audio", "--compose-out-path", str(tmp_path / "a.webm"), "--speakers")
    assert r.returncode == 2 and "give --transmux too" in r.stderr


def test_compose_thumbnails_beside_the_composed_file(local_room, tmp_path):
    """Issue 19: --compose-thumbnails N: a JPEG every N s of the composed video, a sprite and a WebVTT
    track whose cues cover the file and point into the sprite; a presigned URL output is refused (S3: see
    test_s3_in_and_out)."""
    out = tmp_path / "room.webm"
    r = cli("-q", "--in-s3", local_room, "--compose-video", "--compose-out-path", str(out), "--compose-size",
            "640x360", "--compose-thumbnails", "2")
    assert r.returncode == 0, r.stderr
    compose = json.loads(r.stdout)["compose"]
    folder = tmp_path / "room-thumbnails"
    jpegs = sorted(folder.glob("room-0*.jpg"))
    file_ms = round(float(probe(out)["format"]["duration"]) * 1000)  # the file's own (its last audio frame too)
    expected = -(-file_ms // 2000)
    assert compose["thumbnails"] == len(jpegs) == expected, (compose, jpegs)
    assert compose["thumbnails_vtt"] == str(folder / "room.vtt")
    for j in jpegs + [folder / "room-sprite.jpg"]:
        ok, err = decodes_cleanly(j)
        assert ok, err
    info = probe(jpegs[0])
    assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (160, 90)
    vtt = (folder / "room.vtt").read_text().split("\n\n")
    assert vtt[0] == "WEBVTT" and len(vtt) - 1 == expected
    assert all("room-sprite.jpg#xywh=" in cue for cue in vtt[1:])
    presigned = "http://127.0.0.1:9/b/x.webm?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
    r = cli("--in-s3", local_room, "--compose-video", "--compose-out-s3", presigned, "--compose-thumbnails", "2")
    assert r.returncode == 2, r.stderr
    assert "compose.thumbnail_interval_s needs a local or S3 compose output (a presigned URL names one object)" \
        in r.stderr


@pytest.mark.parametrize("video", ["vp8", "vp9", "h264"])
def test_participant_files_beside_the_transmuxed_files(local_room, tmp_path, video):
    """Issue 18: --participants makes one A+V file per peer on the room's timeline, a per-speaker
    audio file each and the multichannel WAV; each lasts as long as the room and decodes cleanly
    (ffmpeg -xerror), summary.json lists them with how each was made."""
    room = local_room if video == "vp8" else record(str(tmp_path / "rec"), "--peers", "2", "--seconds", "4",
                                                    "--size", "320x240", "--video", video)
    out = tmp_path / "t"
    r = cli("--in-s3", room, "--transmux", "--transmux-out-path", str(out), "--participants",
            "--participants-out-path", str(out), "--participants-multichannel")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    people = result["participants"]
    peers = sorted({f["peer"] for f in result["transmux"]["files"]})
    ext = ".mkv" if video == "h264" else ".webm"
    assert sorted(f["path"] for f in people["files"]) == sorted(
        [p + ext for p in peers] + [p + "-audio.webm" for p in peers] + ["speakers-multichannel.wav"])
    assert [c["peer"] for c in people["channels"]] == peers
    for f in people["files"]:
        path = out / f["path"]
        info = probe(path)
        assert abs(float(info["format"]["duration"]) * 1000 - people["duration_ms"]) < 60, (f["path"], info)
        types = sorted(s["codec_type"] for s in info["streams"])
        if f["kind"] == "av":
            assert f["video"] == "remuxed" and f["video_codec"] == video, f
            assert types == ["audio", "video"]
            v = next(s for s in info["streams"] if s["codec_type"] == "video")
            assert (v["codec_name"], v["width"], v["height"]) == (video, 320, 240)
        elif f["kind"] == "multichannel":
            assert info["streams"][0]["channels"] == len(peers)
        else:
            assert types == ["audio"]
        ok, err = decodes_cleanly(path)
        assert ok, (f["path"], err)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["participants"]["files"] == people["files"]
    assert json.loads((out / "participants.json").read_text())["files"] == people["files"]


def test_pause_mode_keep_and_cut(tmp_path):
    """Issue 18: a recording paused from 2 s to 4 s (examples/record_synthetic --pause) converts to one file
    per track either way; keep holds the room timeline, cut drops the 2 s, and no --pause-mode is cut (the
    issue's default: one continuous file across pauses); every file probes and decodes."""
    room = record(str(tmp_path / "rec"), "--peers", "2", "--seconds", "6", "--size", "160x120", "--pause", "2-4")
    durations = {}
    for mode in ("keep", "cut", "default"):
        out = tmp_path / mode
        r = cli("-q", "--in-s3", room, "--transmux", "--transmux-out-path", str(out / "t"), "--compose-audio",
                "--compose-video", "--compose-out-path", str(out / "room.webm"), "--compose-size", "320x240",
                *([] if mode == "default" else ["--pause-mode", mode]))
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)
        alice = [f for f in result["transmux"]["files"] if f["peer"] == "alice"]
        assert sorted(f["codec"] for f in alice) == ["opus", "vp8"], alice  # the pause split nothing
        for f in alice:
            assert 1900 <= f["paused_ms"] <= 2100, f
            ok, err = decodes_cleanly(f["uri"])
            assert ok, err
            durations[(mode, f["codec"])] = float(probe(f["uri"])["format"]["duration"])
        pauses = next(iter(result["transmux"]["summary"]["peers"]["alice"]["sessions"].values()))["pauses"]
        assert len(pauses) == 1 and pauses[0]["end"] - pauses[0]["start"] == 2000, pauses
        ok, err = decodes_cleanly(result["compose"]["media_uri"])
        assert ok, err
        # bob records throughout: nobody-paused time is never cut from the composed room.
        assert result["compose"]["paused_ms"] == 0
    for codec in ("opus", "vp8"):
        assert abs(durations[("keep", codec)] - 6.0) < 0.3, durations
        assert abs(durations[("cut", codec)] - 4.0) < 0.3, durations
        assert durations[("default", codec)] == durations[("cut", codec)], durations


def test_participant_files_into_s3(tmp_path):
    """Issue 18: --participants-out-s3 uploads each participant file under the prefix (and
    participants.json); the result gives the keys; every file downloaded decodes cleanly and lasts
    as long as the room."""
    with S3Server(buckets=("rec", "out")) as s3:
        base = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}"
        shown = record(f"{base}/rec/recordings?path_style=true", "--peers", "2", "--seconds", "3",
                       "--size", "320x240")
        room = shown.replace("S3RVER:***@", "S3RVER:S3RVER@")
        temp = tmp_path / "staging"
        temp.mkdir()
        r = cli("--in-s3", room, "--participants", "--participants-out-s3",
                f"{base}/out/people/job1?path_style=true", "--participants-multichannel", "-q",
                env=clean_env(TMPDIR=str(temp)))
        assert r.returncode == 0, r.stderr
        assert "S3RVER:S3RVER" not in r.stdout + r.stderr
        people = json.loads(r.stdout)["participants"]
        c = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                         region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
        keys = {o["Key"] for o in c.list_objects_v2(Bucket="out").get("Contents", [])}
        assert keys == {"people/job1/" + f["path"] for f in people["files"]} | {"people/job1/participants.json"}
        assert len(people["files"]) == 5  # two peers' A+V and audio files, the mix
        for f in people["files"]:
            assert f["uri"] == "people/job1/" + f["path"]
            p = tmp_path / f["path"]
            p.write_bytes(c.get_object(Bucket="out", Key=f["uri"])["Body"].read())
            assert p.stat().st_size == f["bytes"]
            assert abs(float(probe(p)["format"]["duration"]) * 1000 - people["duration_ms"]) < 60
            ok, err = decodes_cleanly(p)
            assert ok, (f["path"], err)
        assert list(temp.iterdir()) == []  # the staging folder is removed


def test_layouts_through_the_cli_and_python(local_room, tmp_path):
    """Issue 19: --compose-layout with a name or @FILE (a custom layout), names and the speaker's frame, through
    the CLI; the same custom layout as an object through Python (the C ABI's JSON) gives the same bytes."""
    layout = {"layout": "grid", "changes": [{"at": "0:02", "regions": [
        {"role": "speaker"}, {"x": 0.7, "y": 0.7, "w": 0.3, "h": 0.3, "z": 1, "role": "others"}]}]}
    (tmp_path / "layout.json").write_text(json.dumps(layout))
    runs = {"speaker": ["--compose-layout", "speaker", "--compose-names", "--compose-speaker-border"],
            "single": ["--compose-layout", "single-speaker", "--compose-speaker-hold", "500"],
            "presentation": ["--compose-layout", "presentation", "--compose-speaker-lead", "0"],
            "custom": ["--compose-layout", "@" + str(tmp_path / "layout.json")]}
    for name, args in runs.items():
        out = tmp_path / f"{name}.webm"
        r = cli("-q", "--in-s3", local_room, "--compose-audio", "--compose-video", "--compose-out-path", str(out),
                "--compose-size", "320x180", "--threads", "2", *args)
        assert r.returncode == 0, (name, r.stderr)
        ok, err = decodes_cleanly(out)
        assert ok, (name, err)
    r = cli("-q", "--in-s3", local_room, "--compose-video", "--compose-out-path", str(tmp_path / "x.webm"),
            "--compose-layout", "@" + str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "--compose-layout: cannot read" in r.stderr

    os.environ.setdefault("ROOMREC_LIBRARY", os.path.join(BUILD, "libroomrec.so.2"))
    os.environ.setdefault("ROOMREC_CONVERT_LIBRARY", os.path.join(BUILD, "libroomrec-convert.so.2"))
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import roomrec
    roomrec.convert(input=local_room, compose={"output": str(tmp_path / "py.webm"), "width": 320, "height": 180,
                                               "threads": 2, "layout": layout})
    assert (tmp_path / "py.webm").read_bytes() == (tmp_path / "custom.webm").read_bytes()
