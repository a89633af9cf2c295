#!/usr/bin/env python3
"""The exported dynamic symbols of a roomrec shared library are its public API, nothing else.

    check_exports.py LIB --symbols abi/LIB.symbols --header capi/roomrec.h [--private capi/roomrec_internal.h]

Reads `nm -D --defined-only` (demangled) and fails when
  - a symbol is neither a C function declared ROOMREC_C_API in the given
    headers nor a C++ symbol listed in the symbols file (the reviewed list of
    the library's public C++ API; a private member, an Impl, a std::
    instantiation or a test helper never belongs there),
  - a C function declared in a header, or a listed C++ symbol, is missing,
  - a name shows an internal: "::Impl", "std::", "roomrec::detail", "(anonymous namespace)".
Prints the counts. With --update it rewrites the symbols file from the library
(after a reviewed change of the public C++ API).
"""
import argparse
import re
import subprocess
import sys

FORBIDDEN = ("::Impl", "std::", "roomrec::detail", "(anonymous namespace)", "roomrec::util::",
             "roomrec::hooks::", "roomrec::s3::", "roomrec::convert::", "roomrec::media::", "roomrec::proto::")


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", "-C", lib], check=True, capture_output=True,
                         text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # version node definitions (ROOMREC_2...)
            continue
        syms.append(re.sub(r"@@?[A-Z_0-9]+$", "", name))
    return syms


def declared_c(headers):
    names = set()
    for h in headers:
        text = open(h, encoding="utf-8").read()
        for m in re.finditer(r"ROOMREC_C_API\s+[^;(]*?\b([a-z_][a-z_0-9]*)\s*\(", text):
            if not m.group(1).startswith("__"):
                names.add(m.group(1))
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--symbols", required=True)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--private", action="append", default=[])
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()

    syms = exported(a.lib)
    c_public = declared_c(a.header)
    c_private = declared_c(a.private)
    c_syms = [s for s in syms if re.fullmatch(r"[a-z_][a-z_0-9]*", s)]
    cxx_syms = sorted(set(s for s in syms if s not in c_syms))

    if a.update:
        with open(a.symbols, "w", encoding="utf-8") as f:
            f.write("# Exported C++ symbols (demangled) of %s: the reviewed public C++ API.\n"
                    "# tests/abi/check_exports.py fails on any exported symbol not listed here.\n"
                    % a.lib.rsplit("/", 1)[-1].split(".so")[0])
            f.writelines(s + "\n" for s in cxx_syms)
        print(f"wrote {len(cxx_syms)} symbols to {a.symbols}")
        return 0

    listed = [l.rstrip("\n") for l in open(a.symbols, encoding="utf-8") if l.strip() and not l.startswith("#")]
    listed_set = set(listed)
    errors = []
    for s in c_syms:
        if s in c_private:
            continue
        if s not in c_public:
            errors.append(f"exported C symbol not declared in {', '.join(a.header)}: {s}")
    for s in sorted(c_public - set(c_syms)):
        errors.append(f"declared C function not exported: {s}")
    for s in cxx_syms:
        if s not in listed_set:
            errors.append(f"exported C++ symbol not declared public ({a.symbols}): {s}")
        own = re.sub(r"^(typeinfo name for|typeinfo for|vtable for) ", "", s).split("(")[0]
        bad = [f for f in FORBIDDEN if f in own or own.startswith(f.lstrip(":"))]
        if bad:
            errors.append(f"exported symbol shows an internal ({bad[0]}): {s}")
    for s in listed:
        if s not in cxx_syms:
            errors.append(f"public C++ symbol no longer exported: {s}")
    for e in errors:
        print("FAIL", e)
    print(f"{a.lib}: {len(syms)} exported symbols ({len(c_syms)} C functions, "
          f"{len([s for s in c_syms if s in c_private])} of them private; {len(cxx_syms)} C++): "
          f"{'ok' if not errors else str(len(errors)) + ' problem(s)'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
