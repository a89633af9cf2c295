"""Issue 17: a Janus .mjr is converted in bounded memory. A 200 MB .mjr (VP8 from
libvpx, a damaged frame marker every 10 MB) goes through convert_record_cli
--transmux in a child process whose peak RSS (wait4's ru_maxrss) must stay under
64 MiB, a third of the file. Reading the whole file into memory, as the
converter did before, cannot pass: the file alone is 200 MB of RSS."""
import json
import os
import pathlib
import subprocess

import pytest

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")

FILE_MB = 200
LIMIT_MIB = 64


def sanitized():
    """Sanitizer builds (scripts/test --sanitize) keep shadow memory and a
    quarantine: their bound is looser, still well under the file's size."""
    opts = pathlib.Path(BUILD) / "meson-info" / "intro-buildoptions.json"
    try:
        for o in json.loads(opts.read_text()):
            if o["name"] == "b_sanitize":
                return o["value"] not in ("none", [])
    except (OSError, ValueError, KeyError):
        pass
    return False


def run_measured(args, env=None):
    """Runs a program; returns (exit status, stdout, stderr, peak RSS in KiB)."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # communicate() would reap the child itself: read the pipes, then wait4 for its rusage.
    # (-q keeps stderr short, so reading stdout to its end first cannot block the child.)
    stdout = p.stdout.read()
    stderr = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, stdout.decode(), stderr.decode(), usage.ru_maxrss


def test_a_200_mb_mjr_converts_in_bounded_memory(tmp_path):
    room = tmp_path / "janus-room"
    room.mkdir()
    mjr = room / "alice-video.mjr"
    made = subprocess.run([os.path.join(BUILD, "tests", "make_mjr"), "--out", str(mjr), "--mb", str(FILE_MB),
                           "--damage"], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    size, frames = (int(x) for x in made.stdout.split())
    assert size == mjr.stat().st_size and size >= FILE_MB * 10**6

    env = dict(os.environ)
    limit_mib = LIMIT_MIB
    if sanitized():
        limit_mib = 128
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"
    out = tmp_path / "out"
    code, stdout, stderr, peak_kib = run_measured(
        [os.path.join(BUILD, "src", "bin", "convert_record_cli"), "--in-s3", str(room), "--transmux",
         "--transmux-out-path", str(out), "-q"], env)
    assert code == 0, stderr
    result = json.loads(stdout)
    files = result["transmux"]["files"]
    assert len(files) == 1
    # Every spoiled marker costs its frame, and is found again (a region per 10 MB).
    spoiled = (size - 1) // 10_000_000
    timeline = result["transmux"]["summary"]["peers"]["alice"]["sessions"]["0"]["track"]["alice-video"]["timeline"]
    assert timeline[0]["packets"] == frames - spoiled
    problems = "\n".join(result["problems"])
    assert f"{frames - spoiled} frames read, {spoiled} bad regions" in problems, problems
    assert files[0]["bytes"] > size * 0.9  # the media is all there (WebM frames of the same VP8)
    peak_mib = peak_kib / 1024
    print(f"convert_record_cli: {size / 1e6:.0f} MB .mjr, peak RSS {peak_mib:.1f} MiB (limit {limit_mib} MiB)")
    assert peak_mib < limit_mib, f"peak RSS {peak_mib:.1f} MiB for a {size / 2**20:.0f} MiB file"
