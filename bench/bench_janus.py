#!/usr/bin/python3
"""Janus's CPU time for one publisher (720p VP8 at 1.5 Mbit/s + Opus, headless
Chromium) with janus.plugin.roomrec recording it, against the same publisher
joined with record=false (Janus receives, decrypts and hands every packet to
the plugin, which drops it) and against Janus's echotest (which sends it all
back): the recording overhead as a ratio, measured in one run.

Runs inside tests/janus/netns.sh (scripts/bench does that):
  bench/bench_janus.py --build build-bench [--seconds 25] [--runs 3]
Prints one line per run, the medians, and SUMMARY lines for scripts/bench.
Janus runs on CPU 0 and Chromium on CPU 1; the measured window covers at
least one chunk being closed and uploaded (to a local folder, with fsync).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "janus"))
import janus_env  # noqa: E402
from chromium_publisher import ChromiumPublisher  # noqa: E402

import jwt  # noqa: E402

SECRET = "bench-secret"


def cpu_seconds(pid):
    """CPU time of a process's live threads, in seconds, with nanosecond
    resolution (schedstat; /proc/PID/stat counts 10 ms ticks): (all threads,
    roomrec's own threads: "rr-*" and the plugin's "roomrec *")."""
    total = ours = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            ns = int((task / "schedstat").read_text().split()[0])
            name = (task / "comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
        total += ns
        if name.startswith(("rr-", "roomrec")):
            ours += ns
    return total / 1e9, ours / 1e9


def pin(pid, cpu):
    """Every thread of a process onto one CPU (threads and processes it starts
    later inherit it), so Janus's CPU time is not disturbed by the browser's."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {cpu})
        except OSError:
            pass


def make_video(path, seconds=2):
    """A 720p30 clip with moving detail and grain: the encoder spends its whole budget on it."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate=30:duration={seconds}", "-vf", "noise=alls=12:allf=t",
                    "-pix_fmt", "yuv420p", str(path)], check=True, timeout=300)


def one_run(mode, args, work, video):
    roomrec = mode in ("record", "drop")
    plugin = Path(args.build) / "integrations" / "janus" / "libjanus_roomrec.so"
    rec = work / f"rec-{mode}-{time.monotonic_ns()}"
    if roomrec:
        cfg = {"janus.plugin.roomrec.jcfg": f'apps: {{ bench = "{SECRET}" }}\n'
                                             f'recorder: {{ max_chunk_ms = {args.chunk_ms} upload: {{ uri = "{rec}" }} }}\n'}
        server = janus_env.JanusServer(work / f"janus-{mode}-{time.monotonic_ns()}", [plugin], cfg,
                                       env={"LD_LIBRARY_PATH": args.build}, admin=True)
        body = {"request": "join", "token": jwt.encode(
            {"app": "bench", "room": "bench", "peer": "p", "record": mode == "record",
             "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")}
        name = "janus.plugin.roomrec"
    else:
        server = janus_env.JanusServer(work / f"janus-echo-{time.monotonic_ns()}", [janus_env.ECHOTEST_PLUGIN],
                                       {"janus.plugin.echotest.jcfg": "general: {\n}\n"})
        body = {"audio": True, "video": True, "videocodec": "vp8"}
        name = "janus.plugin.echotest"
    server.start()
    pin(server.pid, 0)
    try:
        pub = ChromiumPublisher(work / f"chromium-{mode}-{time.monotonic_ns()}", server.base_url, name, body,
                                seconds=args.seconds, codec="VP8", label=None, width=1280, height=720,
                                max_kbps=1500, extra_flags=[f"--use-file-for-fake-video-capture={video}"])
        pin(pub.proc.pid, 1)
        pub.wait_publishing()
        time.sleep(args.warmup)
        def plugin_info():
            infos = [h.get("plugin_specific", {}) for h in server.handles_info()] if roomrec else []
            return next((i for i in infos if i.get("joined")), {})
        p0 = plugin_info()
        (c0, o0), t0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(args.seconds - args.warmup - 1)
        (c1, o1), t1 = cpu_seconds(server.pid), time.monotonic()
        p1 = plugin_info()
        r = pub.result()
        if r.get("error"):
            raise RuntimeError(f"{mode}: publisher failed: {r['error']}")
    finally:
        server.stop()
    v = r["sent"]["video"]
    window = t1 - t0
    # Time inside the plugin's media callbacks over the window (wall time on
    # Janus's pinned CPU: an upper bound of their CPU time).
    calls = p1.get("incoming_calls", 0) - p0.get("incoming_calls", 0)
    in_cb = p1.get("incoming_us_mean", 0) * p1.get("incoming_calls", 0) - \
        p0.get("incoming_us_mean", 0) * p0.get("incoming_calls", 0)
    return {"mode": mode, "cpu_ms_per_s": 1000 * (c1 - c0) / window,
            "roomrec_threads_ms_per_s": 1000 * (o1 - o0) / window,
            "callbacks_ms_per_s": in_cb / 1000 / window, "calls_per_s": calls / window,
            "video_kbps": 8 * v["bytes"] / r["published_seconds"] / 1000,
            "size": f"{v.get('width')}x{v.get('height')}",
            "us_mean": p1.get("incoming_us_mean"), "us_max": p1.get("incoming_us_max")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--seconds", type=float, default=75)
    ap.add_argument("--warmup", type=float, default=8, help="seconds before measuring (bitrate ramp-up)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--chunk-ms", type=int, default=60000, help="max_chunk_ms (roomrec's default: 60000)")
    args = ap.parse_args()
    args.build = str(Path(args.build).resolve())
    if args.seconds - args.warmup - 1 < args.chunk_ms / 1000 + 2:
        sys.exit("bench_janus: the measured window must cover a chunk: --seconds >= warmup + chunk + 3")
    problem = janus_env.in_netns_problem()
    if problem:
        sys.exit(f"bench_janus: {problem}")
    with tempfile.TemporaryDirectory(prefix="bench-janus-") as tmp:
        work = Path(tmp)
        video = work / "clip.y4m"
        make_video(video)
        runs = []
        print(f"bench_janus: one Chromium publisher, 1280x720 VP8 capped at 1500 kbit/s + Opus, "
              f"{args.seconds:.0f} s each, Janus CPU measured over {args.seconds - args.warmup - 1:.0f} s "
              f"after {args.warmup:.0f} s of ramp-up; chunks of {args.chunk_ms / 1000:.0f} s; runs alternate")
        for i in range(args.runs):
            for mode in ("drop", "record", "echotest"):
                r = one_run(mode, args, work, video)
                runs.append(r)
                extra = (f"; roomrec: callbacks {r['callbacks_ms_per_s']:.2f} ms/s ({r['calls_per_s']:.0f}/s, "
                         f"{r['us_mean']:.1f} us mean, {r['us_max']} us max), its threads "
                         f"{r['roomrec_threads_ms_per_s']:.2f} ms/s" if mode == "record" else "")
                print(f"  run {i + 1} {mode:8s}: Janus {r['cpu_ms_per_s']:6.1f} ms CPU/s, video "
                      f"{r['video_kbps']:6.0f} kbit/s {r['size']}{extra}", flush=True)
    med = {m: statistics.median(r["cpu_ms_per_s"] for r in runs if r["mode"] == m) for m in ("drop", "record", "echotest")}
    rec = [r for r in runs if r["mode"] == "record"]
    direct = statistics.median(r["callbacks_ms_per_s"] + r["roomrec_threads_ms_per_s"] for r in rec)
    us_max = max(r["us_max"] for r in rec)
    ratio = med["record"] / med["drop"]
    print(f"median Janus CPU: receiving and dropping {med['drop']:.1f} ms/s, recording {med['record']:.1f} ms/s "
          f"({ratio:.3f}x), echotest {med['echotest']:.1f} ms/s")
    print(f"recording's own cost, measured directly (time in the plugin's media callbacks + roomrec's threads): "
          f"{direct:.2f} ms/s = {100 * direct / med['drop']:.1f}% of Janus's CPU without recording "
          f"(target < 10%); longest callback {us_max} us")
    print(f"SUMMARY\tJanus CPU, 1 publisher 720p VP8 1.5M + Opus (vs record=false)\t{med['record']:.1f} ms/s\t"
          f"{med['drop']:.1f} ms/s\t{ratio:.2f}x")
    print(f"SUMMARY\tJanus recording overhead, direct (callbacks + roomrec threads)\t{direct:.2f} ms/s\t"
          f"{med['drop']:.1f} ms/s\t{1 + direct / med['drop']:.2f}x")
    print(f"SUMMARY\tJanus CPU, same publisher (vs echotest)\t{med['record']:.1f} ms/s\t{med['echotest']:.1f} ms/s\t"
          f"{med['record'] / med['echotest']:.2f}x")


if __name__ == "__main__":
    main()
