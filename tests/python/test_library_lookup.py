"""How an installed copy of the package finds the libraries (issue 22).

A copy of bindings/python/roomrec outside any source tree (as pip or
python3-roomrec install it), run with no ROOMREC_* variable, must load
libroomrec by its soname (libroomrec.so.2) from the dynamic loader's search
path, and libroomrec-convert the same way on first use. The build folder
stands in for the system's library folder through LD_LIBRARY_PATH (what
dlopen searches first, like the ld.so cache for /usr/lib)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import os, sys
import roomrec
from roomrec import _lib
assert roomrec.__file__.startswith(sys.argv[1]), roomrec.__file__
print("lib", _lib.lib._name)
print("root", _lib._source_tree())
print("convert", _lib.convert_lib()._name)
maps = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libroomrec" in l})
print("maps", " ".join(maps))
"""


def _build_dir() -> Path:
    lib = os.environ.get("ROOMREC_LIBRARY")
    assert lib, "run through `meson test` (ROOMREC_LIBRARY names the built libroomrec.so)"
    return Path(lib).resolve().parent


def test_installed_copy_loads_by_soname_without_environment(tmp_path):
    build = _build_dir()
    for name in ("libroomrec.so.2", "libroomrec-convert.so.2"):
        assert (build / name).exists(), f"{build / name} missing: the soname link of the built library"
    site = tmp_path / "site"
    shutil.copytree(ROOT / "bindings" / "python" / "roomrec", site / "roomrec")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMREC_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    env["LD_LIBRARY_PATH"] = str(build)
    r = subprocess.run([sys.executable, "-c", PROBE, str(site)], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert out["lib"] == "libroomrec.so.2"
    assert out["root"] == "None"  # not a source checkout: no build folder guessed
    assert out["convert"] == "libroomrec-convert.so.2"
    maps = out["maps"].split()
    assert maps and all(Path(m).parent == build for m in maps), maps


def test_installed_copy_without_library_says_what_it_tried(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ROOT / "bindings" / "python" / "roomrec", site / "roomrec")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ROOMREC_") and k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-c", "import roomrec"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    if r.returncode == 0:
        # libroomrec is installed on this machine (the .debs or meson install): found by soname.
        r2 = subprocess.run([sys.executable, "-c", "from roomrec import _lib; print(_lib.lib._name)"],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert r2.stdout.strip() == "libroomrec.so.2", r2
        return
    assert "ImportError: libroomrec not found" in r.stderr, r.stderr
    assert "libroomrec.so.2" in r.stderr, r.stderr  # the soname was tried
