"""Issue 18: the participant files, made by convert_record_cli as a user would, played by
headless Chromium (Debian `chromium`, through chromium_play.py): each {peer}.webm (VP8 + Opus,
remuxed, on the room's timeline) and {peer}-audio.webm loads in a <video>, plays, seeks to the
middle and to the end, and reports the room's duration; the A+V files show pictures.

What Chromium reported goes to $ROOMREC_BUILD_DIR/meson-logs/participants_chromium.json.
"""
import json
import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from chromium_play import play  # noqa: E402
from test_cli import cli, decodes_cleanly, probe, record  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")


@pytest.mark.parametrize("video", ["vp8", "h264"])
def test_participant_files_play_in_chromium(tmp_path, video):
    # record_synthetic's peers join and leave at different times: gaps before, between and after.
    room = record(str(tmp_path / "rec"), "--peers", "3", "--seconds", "6", "--size", "320x240", "--video", video)
    out = tmp_path / "people"
    r = cli("--in-s3", room, "--participants", "--participants-out-path", str(out), "-q")
    assert r.returncode == 0, r.stderr
    people = json.loads(r.stdout)["participants"]
    files = [f for f in people["files"] if f["kind"] in ("av", "audio")]
    assert len(files) == 6
    paths = [out / f["path"] for f in files]
    for p in paths:
        ok, err = decodes_cleanly(p)
        assert ok, (p, err)
    results = play(paths)
    log = pathlib.Path(BUILD) / "meson-logs" / "participants_chromium.json"
    old = json.loads(log.read_text()) if log.exists() else {}
    old[video] = results
    log.write_text(json.dumps(old, indent=1))
    assert len(results) == len(files)
    room_s = people["duration_ms"] / 1000
    for res, f, p in zip(results, files, paths):
        assert res.get("error") is None, res
        assert res["can_play_type"] in ("maybe", "probably"), res
        assert abs(res["duration"] - room_s) < 0.1, (res, room_s)  # every file lasts as long as the room
        assert abs(res["duration"] - float(probe(p)["format"]["duration"])) < 0.1, res
        assert res["played_to"] > 0.4, res
        assert [s["seeked"] for s in res["seeks"]] == [True, True], res
        if f["kind"] == "av":
            assert f["video"] == "remuxed", f
            assert (res["width"], res["height"]) == (320, 240), res
            assert res["frames_played"] > 0, res
            assert res["seeks"][0]["nonblack"] > 0.2, res  # every peer is there in the middle: a picture
        else:
            assert res["width"] == 0 and res["frames_played"] == 0, res
