"""The roomrec Python package as installed (tests/packaging/test_packages.sh).

    PYTHON check_python.py EXPECTED_VERSION EXPECTED_PREFIX WORK_DIR

Run by a venv's python after `pip install ./bindings/python`, and by
/usr/bin/python3 for Debian's python3-roomrec: the package must come from
EXPECTED_PREFIX, find libroomrec and libroomrec-convert by soname in the
system's library folder with no environment variable, record a session and
transmux it (which loads libroomrec-convert). Exits non-zero on any mismatch.
"""
import os
import sys
from pathlib import Path

expected_version, expected_prefix, work = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3])
leaked = sorted(k for k in os.environ if k.startswith("ROOMREC_"))
if leaked:
    sys.exit(f"check_python: environment must not help the package find its library: {leaked}")

import roomrec  # noqa: E402  (after the environment check)
from roomrec import _lib  # noqa: E402

problems = []
pkg = Path(roomrec.__file__).resolve()
if expected_prefix not in pkg.parents:
    problems.append(f"roomrec imported from {pkg}, not under {expected_prefix}")
if not (pkg.parent / "py.typed").is_file():
    problems.append(f"py.typed missing beside {pkg}")
if roomrec.version() != expected_version:
    problems.append(f"library version {roomrec.version()}, expected {expected_version}")
if roomrec.abi_version() != roomrec.ABI_VERSION:
    problems.append(f"ABI {roomrec.abi_version()} != {roomrec.ABI_VERSION}")
if _lib.lib._name != f"libroomrec.so.{roomrec.ABI_VERSION}":
    problems.append(f"libroomrec loaded as {_lib.lib._name!r}, not by its soname")

# Record one peer's Opus track, then transmux it (first use of libroomrec-convert).
out = work / "recordings"
with roomrec.Recorder({"upload": {"uri": str(out)}}) as rec:
    t0 = 1700000000000
    with rec.open_session("pkg", "python", "bob", 7, now=t0) as s:
        s.track_started(1, "audio", "opus", name="audio_main", clock_rate=48000, ssrc=99, now=t0)
        for i in range(100):
            hdr = bytes([0x80, 111 | (0x80 if i == 0 else 0)]) + (2000 + i).to_bytes(2, "big") + \
                (i * 960).to_bytes(4, "big") + (99).to_bytes(4, "big")
            s.rtp(1, hdr + b"\xf8\xff\xfe", now=t0 + 20 * i)
        s.leave(now=t0 + 2000)
        room = s.room_path
    rec.flush()
result = roomrec.convert(input=str(out / room), transmux={"output": str(work / "transmux")})
files = result.get("transmux", {}).get("files", [])
if len(files) != 1:
    problems.append(f"transmux made {len(files)} files, expected 1: {result}")

maps = {line.split()[-1] for line in open("/proc/self/maps") if "libroomrec" in line}
for name in ("libroomrec.so.2", "libroomrec-convert.so.2"):
    paths = sorted(p for p in maps if os.path.basename(p).startswith(name))
    if not paths or not all(p.startswith("/usr/lib/") for p in paths):
        problems.append(f"{name} mapped from {paths or 'nowhere'}, expected the system's library folder")

if problems:
    print("check_python: FAILED\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"check_python: roomrec {roomrec.version()} from {pkg.parent}, libraries {sorted(maps)}, "
      f"transmuxed {files[0].get('path', files[0]) if isinstance(files[0], dict) else files[0]}")
