"""Runs examples/record_convert (C) or examples/record_convert.py end to end and checks what it made.

    check_record_convert.py --modes folder,file,s3 -- COMMAND [ARG...]

For each mode the example records into a temporary folder (a plain path, a
file:// URI) or into the local S3 server (tests/s3, s3rver), transmuxes and
composes; then: exit status 0, the result JSON on stdout names the 4 tracks of
alice and bob, every transmuxed file and the composed room are read by
ffprobe (codec, size, duration) and decode with ffmpeg without an error, and
summary.json lists both peers. Then the error paths: a bad --out URI ends with
status 1 and the library's message, a missing option with status 2.
Standard library only; run by `meson test --suite examples`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))

failures: List[str] = []


def check(cond: bool, what: str) -> bool:
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    return cond


def ffprobe(path: str) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_name,codec_type,width,height:format=duration", "-of", "json", path],
                       capture_output=True, text=True, timeout=120)
    if not check(r.returncode == 0, f"ffprobe {path}: {r.stderr.strip()}"):
        return {"streams": [], "format": {}}
    return json.loads(r.stdout)


def decodes(path: str) -> bool:
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"],
                       capture_output=True, text=True, timeout=300)
    return r.returncode == 0 and not r.stderr.strip()


def run_example(cmd: List[str], out: str, work: Path) -> None:
    transmux, composed = work / "transmux", work / "room.webm"
    argv = cmd + ["--out", out, "--transmux-out", str(transmux), "--compose-out", str(composed), "--seconds", "4"]
    print("running:", " ".join(argv), file=sys.stderr, flush=True)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    sys.stderr.write(r.stderr)
    if not check(r.returncode == 0, f"exit status {r.returncode} for --out {out}"):
        return
    result = json.loads(r.stdout)
    check((result["app"], result["room"]) == ("example", "example-room"), f"app/room: {result}")
    check(result["problems"] == [], f"problems: {result['problems']}")
    # The recording was read back from where --out put it.
    if out.startswith("http://"):  # the result shows the URI with its secret redacted
        where = out.split("?")[0].split("@", 1)[1] + "/example/example-room/"
        check(where in result["input"], f"input {result['input']}")
    check("uploaded " in r.stderr, "no upload was reported")

    files = result["transmux"]["files"]
    check(sorted((f["peer"], f["codec"]) for f in files) ==
          [("alice", "opus"), ("alice", "vp8"), ("bob", "opus"), ("bob", "vp8")], f"transmuxed tracks: {files}")
    for f in files:
        path = transmux / f["path"]
        streams = ffprobe(str(path))["streams"]
        check([s["codec_name"] for s in streams] == [f["codec"]], f"{path}: streams {streams}")
        if f["codec"] == "vp8" and streams:
            check((streams[0].get("width"), streams[0].get("height")) == (320, 240), f"{path}: size {streams[0]}")
        check(decodes(str(path)), f"{path} does not decode")
    summary = transmux / "summary.json"
    check(summary.is_file() and {"alice", "bob"} <= set(json.loads(summary.read_text())["peers"]),
          f"{summary}: missing or without both peers")

    check(result["compose"]["media_uri"] == str(composed), f"compose: {result['compose']}")
    probe = ffprobe(str(composed))
    check(sorted(s["codec_name"] for s in probe["streams"]) == ["opus", "vp8"], f"{composed}: {probe['streams']}")
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]
    check(bool(video) and (video[0]["width"], video[0]["height"]) == (640, 360), f"{composed}: {video}")
    duration = float(probe["format"].get("duration", 0))
    check(3.5 <= duration <= 5.5, f"{composed}: duration {duration}")
    check(decodes(str(composed)), f"{composed} does not decode")


def check_errors(cmd: List[str], work: Path) -> None:
    # An S3 URI without credentials is refused by the library: status 1, its message on stderr.
    r = subprocess.run(cmd + ["--out", "http://nocreds@127.0.0.1:9/bucket", "--transmux-out", str(work / "t")],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 1 and "invalid_argument" in r.stderr, f"bad --out: status {r.returncode}, {r.stderr}")
    check(r.stdout == "", f"bad --out printed {r.stdout!r}")
    r = subprocess.run(cmd + ["--out", str(work / "rec")], capture_output=True, text=True, timeout=120)
    check(r.returncode == 2 and "--transmux-out" in r.stderr, f"no output option: status {r.returncode}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="folder,s3")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="roomrec-example-") as tmp:
        work = Path(tmp)
        for mode in modes:
            (work / mode).mkdir()
            if mode == "folder":
                run_example(args.command, str(work / mode / "rec"), work / mode)
            elif mode == "file":
                run_example(args.command, f"file://{work / mode / 'rec'}", work / mode)
            elif mode == "s3":
                from s3rver_fixture import S3Server
                with S3Server(buckets=("roomrec-test",)) as s3:
                    uri = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/roomrec-test/records?path_style=true"
                    run_example(args.command, uri, work / mode)
            else:
                check(False, f"unknown mode {mode}")
        (work / "errors").mkdir()
        check_errors(args.command, work / "errors")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print(f"{' '.join(args.command)}: {', '.join(modes)} round trips and error paths OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
