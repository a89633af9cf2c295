"""Record a room through the bindings (local folder and S3), convert it, check the files with ffprobe/ffmpeg."""
from __future__ import annotations

import os
from pathlib import Path

import roomrec
from conftest import T0, boto_client, codecs, decodes, ffprobe, record_peer, s3_uri, synth_packets


def record_two_peers(rec: roomrec.Recorder, synth_dir: Path, room: str) -> str:
    alice = synth_packets(synth_dir, 4, 440, 40)
    bob = synth_packets(synth_dir, 3, 660, 160)
    with rec.open_session("py", room, "alice", 1, ip="127.0.0.1", user_agent="pytest", now=T0) as a:
        record_peer(a, alice, T0)
        with rec.open_session("py", room, "bob", 2, now=T0 + 1000) as b:
            record_peer(b, bob, T0 + 1000)
            assert b.leave(T0 + 4100) == roomrec.RecordResult.OK
            assert b.closed
        a.leave(T0 + 4200)
        room_path = a.room_path
        st = a.stats()
        assert st["rtp_accepted"] == len(alice)
        assert st["data_messages"] == 1
        assert st["chunks_closed"] >= 2
    assert room_path.startswith(f"py/{room}/")
    return room_path


def header_result_fields() -> dict:
    """The result fields capi/roomrec_convert.h lists for roomrec_convert()."""
    src = os.environ.get("ROOMREC_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    text = open(os.path.join(src, "capi", "roomrec_convert.h"), encoding="utf-8").read()
    block = text[text.index(" * Result (every field"):text.index("*/", text.index(" * Result (every field"))]
    block = " ".join(line.lstrip(" *") for line in block.splitlines()[1:])
    import re

    def names(s):
        return set(re.findall(r'"([a-z_]+)"', s))

    def inner(key):
        i = block.index(f'"{key}": [{{') + len(f'"{key}": [{{')
        return names(block[i:block.index("}", i)])

    return {"top": {"input", "app", "room", "room_record_id", "transmux", "compose", "participants", "problems"},
            "transmux": {"duration_ms", "files", "data_files", "summary", "speakers"},
            "files": inner("files"), "data_files": inner("data_files"),
            "compose": names(block[block.index('"compose": {'):block.index("| null", block.index('"compose": {'))]),
            "all": names(block)}


def check_result_fields(result: dict) -> None:
    """What roomrec_convert() returns matches, field for field, what its header says."""
    h = header_result_fields()
    assert set(result) == h["top"]
    assert set(result["transmux"]) == h["transmux"]
    for f in result["transmux"]["files"]:
        assert set(f) == h["files"], set(f) ^ h["files"]
    for f in result["transmux"]["data_files"]:
        assert set(f) == h["data_files"], set(f) ^ h["data_files"]
    assert result["transmux"]["data_files"], "the round trip records a data-channel message"
    assert set(result["compose"]) == h["compose"] - {"compose"}


def check_transmux(result: dict, folder: str) -> None:
    files = result["transmux"]["files"]
    assert sorted((f["peer"], f["codec"]) for f in files) == [("alice", "opus"), ("alice", "vp8"), ("bob", "opus"),
                                                               ("bob", "vp8")]
    for f in files:
        path = os.path.join(folder, f["path"])
        assert codecs(path) == [f["codec"]]
        assert decodes(path), path
        if f["codec"] == "vp8":
            assert (f["width"], f["height"]) == (320, 240)
            s = ffprobe(path)["streams"][0]
            assert (s["width"], s["height"]) == (320, 240)
    assert "alice" in result["transmux"]["summary"]["peers"]
    assert os.path.isfile(os.path.join(folder, "summary.json"))


def test_record_to_local_folder_then_transmux_and_compose(tmp_path, synth_dir):
    out = tmp_path / "rec"
    uploaded = []
    keyframes = []
    with roomrec.Recorder({"max_chunk_bytes": 65536, "upload": {"uri": f"file://{out}"}},
                          on_uploaded=lambda key, size: uploaded.append((key, size)),
                          on_keyframe=lambda s, track: keyframes.append((s, track))) as rec:
        room_path = record_two_peers(rec, synth_dir, "local-room")
        rec.flush(60)
        stats = rec.stats()
        assert stats["store"]["chunks_refused"] == 0
        assert stats["store"]["chunks_pending"] == 0
        stored = stats["store"]["chunks_uploaded"]
    # Leaving the with block shut the workers down: every on_uploaded call is in.
    assert not rec.callback_errors
    assert len(uploaded) == stored > 4
    # Keyframe requests for the video track only, handed the session object:
    # one when each session's video starts, then at most one per later chunk.
    assert {t for _, t in keyframes} == {2}
    assert len({id(sess) for sess, _ in keyframes}) == 2
    assert 2 <= len(keyframes) <= stored
    for key, size in uploaded:
        assert (out / key).stat().st_size == size

    result = roomrec.convert(input=str(out / room_path), transmux={"output": str(tmp_path / "t")},
                             compose={"output": str(tmp_path / "room.webm"), "width": 320, "height": 240, "fps": 10})
    assert result["room"] == "local-room" and result["app"] == "py"
    check_result_fields(result)
    check_transmux(result, str(tmp_path / "t"))
    composed = str(tmp_path / "room.webm")
    assert result["compose"]["media_uri"] == composed
    assert codecs(composed) == ["opus", "vp8"]
    assert decodes(composed)
    assert 3.5 <= float(ffprobe(composed)["format"]["duration"]) <= 5.5


def test_record_to_s3_then_convert_from_s3(tmp_path, synth_dir, s3server):
    with roomrec.Recorder({"max_chunk_bytes": 65536, "upload": {"uri": s3_uri(s3server, "records")}}) as rec:
        room_path = record_two_peers(rec, synth_dir, "s3-room")
        rec.flush(120)
        assert rec.stats()["upload"]["failures"] == 0
    c = boto_client(s3server)
    keys = [o["Key"] for o in c.list_objects_v2(Bucket="roomrec-test", Prefix=f"records/{room_path}/")["Contents"]]
    assert len(keys) > 4 and all(k.endswith(".rec") for k in keys)

    result = roomrec.convert({
        "input": s3_uri(s3server, f"records/{room_path}"),
        "transmux": {"output": str(tmp_path / "t")},
        "compose": {"output": s3_uri(s3server, "composed/s3-room.webm"), "width": 320, "height": 240, "fps": 10},
    })
    check_transmux(result, str(tmp_path / "t"))
    body = c.get_object(Bucket="roomrec-test", Key="composed/s3-room.webm")["Body"].read()
    local = tmp_path / "from-s3.webm"
    local.write_bytes(body)
    assert codecs(str(local)) == ["opus", "vp8"]
    assert decodes(str(local))
