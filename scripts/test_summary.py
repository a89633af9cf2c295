#!/usr/bin/python3
"""Counts test results from meson's testlog.json.

A doctest executable or a pytest run counts each of its test cases; any
other meson test counts as one. A test program that failed without
reporting its own counts (a crash, a timeout) counts as one failure.
Prints "N passed, N failed[, N skipped]" and exits non-zero on any failure.
"""
import json
import re
import sys

DOCTEST = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
PYTEST = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


def counts(entry):
    out = entry.get("stdout") or ""
    m = DOCTEST.findall(out)
    if m:
        _total, p, f, s = (int(x) for x in m[-1])
        return p, f, s
    lines = [l for l in out.splitlines() if re.search(r"\d+ (passed|failed|skipped|error)", l)]
    if lines and ("pytest" in " ".join(entry.get("command", [])) or "passed" in lines[-1]):
        p = f = s = 0
        for n, what in PYTEST.findall(lines[-1]):
            n = int(n)
            if what in ("passed", "xfailed"):
                p += n
            elif what == "skipped":
                s += n
            else:
                f += n
        return p, f, s
    return None


def main(path):
    passed = failed = skipped = 0
    try:
        entries = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    except OSError as e:
        print(f"no test log: {e}")
        print("0 passed, 1 failed")
        return 1
    for e in entries:
        result = e.get("result", "")
        c = counts(e)
        ok = result in ("OK", "EXPECTEDFAIL")
        if c is None:
            if result == "SKIP":
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
            continue
        p, f, s = c
        if not ok and f == 0:
            f = 1  # crashed or timed out after printing counts
        passed += p
        failed += f
        skipped += s
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
