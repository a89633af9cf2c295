"""Issue 17: a Janus .mjr is converted in bounded memory. A 200 MB .mjr (VP8 from
libvpx, a damaged frame marker every 10 MB) goes through convert_record_cli
--transmux in a child process whose peak RSS (wait4's ru_maxrss) must stay under
64 MiB, a third of the file. Reading the whole file into memory, as the
converter did before, cannot pass: the file alone is 200 MB of RSS."""
import json
import os
import pathlib
import subprocess
import sys

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


# The child's peak RSS must be its own. On Linux a process's ru_maxrss starts from the RSS of the
# process it was forked from (the copied address space counts, and exec keeps the high-water mark), so a
# child forked straight from this pytest process, grown by earlier tests in the same run, reported
# pytest's size (105 MiB in a full run against 33 MiB alone). A small launcher forks the program instead
# and reports its rusage from wait4 on the last stderr line.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nroomrec-peak-rss-kib %d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args, env=None):
    """Runs a program; returns (exit status, stdout, stderr, its own peak RSS in KiB)."""
    r = subprocess.run([sys.executable, "-c", LAUNCHER, *args], capture_output=True, env=env)
    stderr, _, last = r.stderr.decode().rstrip("\n").rpartition("\n")
    name, _, kib = last.partition(" ")
    assert name == "roomrec-peak-rss-kib", r.stderr.decode()
    return r.returncode, r.stdout.decode(), stderr.strip(), int(kib)


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
