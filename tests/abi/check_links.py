#!/usr/bin/env python3
"""A program that only records links no codec: check_links.py FILE...

For each shared library or program, its DT_NEEDED entries (readelf -d) and
everything the loader maps for it (ldd) must name none of libvpx, libopus,
OpenH264, libyuv, libwebm, FFmpeg's libavformat/libavcodec/libavutil or
libroomrec-convert. Prints each file's ldd.
"""
import re
import subprocess
import sys

CODECS = re.compile(r"lib(vpx|opus|openh264|yuv|webm|avformat|avcodec|avutil|roomrec-convert)\b")


def main(files):
    bad = 0
    for f in files:
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                            subprocess.run(["readelf", "-d", f], check=True, capture_output=True, text=True).stdout)
        ldd = subprocess.run(["ldd", f], check=True, capture_output=True, text=True).stdout
        print(f"== {f}\nDT_NEEDED: {' '.join(needed)}\n{ldd}")
        for lib in needed:
            if CODECS.search(lib):
                print(f"FAIL {f} needs {lib}")
                bad += 1
        for line in ldd.splitlines():
            if CODECS.search(line.split("=>")[0]):
                print(f"FAIL {f} maps {line.strip()}")
                bad += 1
        if not any(n.startswith("libroomrec.so") for n in needed) and "libroomrec.so" not in f:
            print(f"FAIL {f} does not link libroomrec")
            bad += 1
    print(f"{len(files)} file(s), {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
