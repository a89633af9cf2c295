#!/usr/bin/env bash
# Issue 22: the Debian packages, built from a clean clone, installed for real.
#
#   tests/packaging/test_packages.sh SOURCE_ROOT     (meson suite "packaging"; root)
#
# 1. clone SOURCE_ROOT's HEAD (committed work only) into a temp folder, add the
#    libwebm source scripts/bootstrap unpacked (subprojects/libwebm), and run
#    `dpkg-buildpackage -us -uc -b` there (nocheck, -j2, no dbgsym packages);
# 2. lintian at the error level; versions agree (meson.build, debian/changelog,
#    bindings/python/pyproject.toml);
# 3. `dpkg -i` every package, then, with the installed files only: a C program
#    built with `pkg-config roomrec` records, a C++ one built with `pkg-config
#    roomrec-convert` transmuxes it; the Python package pip-installed into a venv
#    and Debian's python3-roomrec each record and convert; the tools' --version;
#    the worker service (systemd-analyze verify, its user and secret file, the
#    worker run as that user until /healthz is ready); Janus loading the plugin;
# 4. `dpkg --purge` them all and check nothing named roomrec is left in /usr,
#    /etc or /var, nor the _roomrec user, compared with before.
# Each check prints "ok" or "FAIL"; the last line is "N passed, N failed"
# (scripts/test_summary.py counts them). The packages are purged on any exit.
set -uo pipefail
# Debian's tools only (a python3 from pyenv or /usr/local on PATH would build and test the wrong thing).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

src="${1:?usage: test_packages.sh SOURCE_ROOT}"
src="$(cd "$src" && pwd)"
PKGS=(libroomrec2 libroomrec-convert2 libroomrec-dev roomrec-tools janus-plugin-roomrec python3-roomrec)
passed=0
failed=0
installed=0
pids=()
start_s=$(date +%s)

log() { printf '[packaging %3ss] %s\n' "$(( $(date +%s) - start_s ))" "$*"; }
ok() { passed=$((passed + 1)); log "ok   - $*"; }
bad() { failed=$((failed + 1)); log "FAIL - $*"; }
summary() { echo "$passed passed, $failed failed"; }
# Fatal: the remaining checks cannot run.
die() { bad "$*"; summary; exit 1; }

if [ "$(id -u)" != 0 ]; then
  die "needs root: the packages are installed with dpkg -i (scripts/test runs as root)"
fi
for tool in git dpkg-buildpackage dh lintian dpkg-parsechangelog pkg-config cc c++ /usr/bin/python3 janus \
            systemd-analyze curl ffprobe runuser; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/bootstrap installs it)"
done
[ -f "$src/subprojects/libwebm/mkvmuxer/mkvmuxer.h" ] ||
  die "$src/subprojects/libwebm is missing: run scripts/bootstrap (it unpacks Debian's libwebm source there)"
for p in "${PKGS[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
    die "$p is already installed on this machine: remove it first (this test installs and purges its own)"
  fi
done

# What is named roomrec in the system folders now (compared after the purge).
snapshot() {
  find /usr /etc /var -xdev \( -path /var/tmp -o -path /var/lib/dpkg/updates \) -prune -o \
    -iname '*roomrec*' -print 2>/dev/null | sort
  getent passwd _roomrec
  getent group _roomrec
  ldconfig -p | grep -i roomrec
}
before="$(snapshot)"

work="$(mktemp -d /tmp/roomrec-packages.XXXXXX)"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  # The worker this test started as _roomrec (the user only exists while the package is installed).
  for pid in $(pgrep -u _roomrec -f '^/usr/bin/convert_record_worker' 2>/dev/null); do kill -KILL "$pid"; done
  if [ "$installed" = 1 ]; then
    log "cleanup: purging the packages"
    dpkg --purge "${PKGS[@]}" >/dev/null 2>&1
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # a timeout (meson test) still purges the packages

# ---- 1. build from a clean clone ------------------------------------------------
head=$(git -C "$src" rev-parse HEAD)
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
  log "note: $src has uncommitted changes; the packages are built from HEAD ${head:0:12} only"
fi
clone="$work/roomrec"
git clone -q --no-checkout "$src" "$clone" && git -C "$clone" checkout -q "$head" ||
  die "git clone of $src failed"
cp -a "$src/subprojects/libwebm" "$clone/subprojects/libwebm"
ver_meson=$(sed -n "s/^  version : '\([^']*\)'.*/\1/p" "$clone/meson.build" | head -n1)
ver_deb=$(cd "$clone" && dpkg-parsechangelog -SVersion)
ver_py=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' "$clone/bindings/python/pyproject.toml")
if [ -n "$ver_meson" ] && [ "$ver_meson" = "$ver_deb" ] && [ "$ver_meson" = "$ver_py" ]; then
  ok "version $ver_meson in meson.build, debian/changelog and bindings/python/pyproject.toml"
else
  bad "versions differ: meson.build '$ver_meson', debian/changelog '$ver_deb', pyproject.toml '$ver_py'"
fi
ver="$ver_meson"

log "dpkg-buildpackage -us -uc -b in a clean clone of ${head:0:12} (nocheck, -j2)"
if (cd "$clone" && DEB_BUILD_OPTIONS="nocheck parallel=2 noautodbgsym" \
      dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  ok "dpkg-buildpackage ($(( $(date +%s) - start_s )) s since start)"
else
  tail -n 60 "$work/build.log"
  die "dpkg-buildpackage failed (log above)"
fi
debs=()
for p in "${PKGS[@]}"; do
  arch=$(dpkg --print-architecture)
  [ "$p" = python3-roomrec ] && arch=all
  f="$work/${p}_${ver}_${arch}.deb"
  [ -f "$f" ] && debs+=("$f")
done
if [ "${#debs[@]}" = "${#PKGS[@]}" ]; then
  ok "${#debs[@]} packages built"
else
  ls -l "$work"
  die "expected ${#PKGS[@]} packages (${PKGS[*]}), found ${#debs[@]}"
fi
for f in "${debs[@]}"; do
  printf '  %-45s %8s bytes, installed %6s KiB\n' "$(basename "$f")" "$(stat -c %s "$f")" \
    "$(dpkg-deb -f "$f" Installed-Size)"
  dpkg-deb -c "$f" | awk '$6 !~ /\/$/ {print "      " $6 ($7 ? " " $7 " " $8 : "")}' | grep -v '/usr/share/doc/'
done

# ---- 2. lintian -------------------------------------------------------------------
changes=$(ls "$work"/roomrec_"${ver}"_*.changes | head -n1)
lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1
lint_rc=$?
sed 's/^/  lintian: /' "$work/lintian.log"
if [ "$lint_rc" = 0 ]; then
  ok "lintian: no error ($(grep -c '^W:' "$work/lintian.log") warnings, $(grep -c '^I:' "$work/lintian.log") info)"
else
  bad "lintian reports errors (above)"
fi

# ---- 3. install and use only the installed files --------------------------------------
installed=1
if dpkg -i "${debs[@]}" >"$work/dpkg-i.log" 2>&1; then
  ok "dpkg -i ${PKGS[*]}"
else
  cat "$work/dpkg-i.log"
  die "dpkg -i failed"
fi
libdir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# Nothing from the source tree or a build folder may help from here on.
unset ROOMREC_LIBRARY ROOMREC_CONVERT_LIBRARY ROOMREC_BUILD_DIR LD_LIBRARY_PATH PKG_CONFIG_PATH PYTHONPATH
use="$work/use"
mkdir -p "$use"
here="$clone/tests/packaging"   # the helpers of the commit being packaged
cp "$here/installed_host.c" "$here/installed_convert.cpp" "$here/check_python.py" "$here/check_janus.py" "$use/"
cd "$use" || die "cd $use"

# C (pkg-config roomrec) records; C++ (pkg-config roomrec-convert) transmuxes what it recorded.
if cc -std=c11 -Wall -Werror $(pkg-config --cflags roomrec) installed_host.c -o installed_host \
      $(pkg-config --libs roomrec) 2>"$use/cc.log" &&
   c++ -std=c++20 -Wall -Werror $(pkg-config --cflags roomrec-convert) installed_convert.cpp -o installed_convert \
      $(pkg-config --libs roomrec-convert) 2>>"$use/cc.log"; then
  ok "a C program (pkg-config roomrec) and a C++ one (pkg-config roomrec-convert) built from the installed headers"
else
  cat "$use/cc.log"
  bad "building against the installed headers and libraries failed"
fi
# (the ld cache may name /lib/<triplet> for /usr/lib/<triplet>: one folder on merged-/usr Debian)
if [ -x installed_host ] && ldd installed_host | grep -Eq "libroomrec.so.2 => (/usr)?/lib/${libdir#/usr/lib/}/libroomrec.so.2 " &&
   room=$(./installed_host "$ver" "$use/c-recordings" | tee "$use/host.out" | tail -n1) && [ -d "$room" ] &&
   ./installed_convert "$room" "$use/c-transmux" >"$use/convert.out" &&
   webm=$(ls "$use"/c-transmux/*.webm 2>/dev/null | head -n1) && [ -n "$webm" ] &&
   [ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$webm")" = opus ]; then
  ok "C host recorded with $libdir/libroomrec.so.2; C++ transmuxed it to $(basename "$webm") (opus)"
else
  cat "$use/host.out" "$use/convert.out" 2>/dev/null
  ldd installed_host 2>/dev/null | grep roomrec
  bad "recording with the installed libroomrec / transmuxing with libroomrec-convert"
fi

# Python: pip install ./bindings/python into a venv (offline: Debian's setuptools and wheel).
if /usr/bin/python3 -m venv --system-site-packages "$use/venv" >"$use/pip.log" 2>&1 &&
   "$use/venv/bin/pip" install --no-index --no-build-isolation "$clone/bindings/python" >>"$use/pip.log" 2>&1 &&
   "$use/venv/bin/python" check_python.py "$ver" "$use/venv" "$use/py-venv" >"$use/py.out" 2>&1; then
  ok "pip install ./bindings/python into a venv: $(tail -n1 "$use/py.out")"
else
  tail -n 20 "$use/pip.log"; cat "$use/py.out" 2>/dev/null
  bad "the pip-installed Python package in a venv"
fi
if /usr/bin/python3 check_python.py "$ver" /usr/lib/python3/dist-packages "$use/py-deb" >"$use/pydeb.out" 2>&1; then
  ok "python3-roomrec: $(tail -n1 "$use/pydeb.out")"
else
  cat "$use/pydeb.out"
  bad "Debian's python3-roomrec"
fi

# The tools.
cli_v=$(convert_record_cli --version 2>&1)
worker_v=$(convert_record_worker --version 2>&1)
if [ "$cli_v" = "convert_record_cli $ver" ] && [ "$worker_v" = "convert_record_worker $ver" ] &&
   [ "$(command -v convert_record_cli)" = /usr/bin/convert_record_cli ]; then
  ok "convert_record_cli --version: '$cli_v'; convert_record_worker --version: '$worker_v'"
else
  bad "tool versions: '$cli_v' / '$worker_v' (expected $ver)"
fi
examples=(chunk_inspect record_synthetic rtp_recorder rtp_replay record_convert)
missing_examples=""
for e in "${examples[@]}"; do [ -x "/usr/libexec/roomrec/$e" ] || missing_examples+=" $e"; done
if [ -n "${room:-}" ] && convert_record_cli -q --in-s3 "$room" --transmux --transmux-out-path "$use/cli-out" \
     >"$use/cli.out" 2>&1 && ls "$use"/cli-out/*.webm >/dev/null 2>&1 && [ -f "$use/cli-out/summary.json" ] &&
   [ -z "$missing_examples" ]; then
  ok "convert_record_cli transmuxed the C host's recording; examples in /usr/libexec/roomrec: ${examples[*]}"
else
  cat "$use/cli.out" 2>/dev/null
  bad "convert_record_cli on the C host's recording, or examples missing:${missing_examples:- none}"
fi

# The worker service: the unit, its user, its secret, the worker as that user until ready.
unit=/lib/systemd/system/roomrec-worker.service
[ -f "$unit" ] || unit=/usr/lib/systemd/system/roomrec-worker.service
if verify=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$verify" ]; then
  ok "systemd-analyze verify $unit: clean"
else
  echo "$verify"
  bad "systemd-analyze verify $unit"
fi
exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -n1)
log "     systemd-analyze security: ${exposure:-n/a}"
envf=/etc/roomrec/worker.env
if getent passwd _roomrec >/dev/null &&
   [ "$(stat -c '%U:%G %a' "$envf" 2>/dev/null)" = "_roomrec:_roomrec 600" ] &&
   grep -Eq '^SECRET=.{16,}' "$envf" && ! runuser -u nobody -- cat "$envf" >/dev/null 2>&1 &&
   runuser -u _roomrec -- cat "$envf" >/dev/null 2>&1; then
  ok "user _roomrec; $envf is _roomrec:_roomrec 0600 with a generated SECRET (nobody cannot read it)"
else
  getent passwd _roomrec; ls -l "$envf"
  bad "the service user and its environment file"
fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# What StateDirectory= makes, then the worker as the unit runs it (user, environment file).
install -d -o _roomrec -g _roomrec -m 0750 /var/lib/roomrec /var/lib/roomrec/recordings
(
  set -a; . "$envf"; set +a
  HTTP_ADDR=127.0.0.1:$port
  exec runuser -u _roomrec -- /usr/bin/convert_record_worker
) >"$use/worker.log" 2>&1 &
pids+=("$!")
if HTTP_ADDR=127.0.0.1:$port READY_TIMEOUT_SECONDS=20 /usr/libexec/roomrec/roomrec-worker-ready &&
   health=$(curl -fsS "http://127.0.0.1:$port/healthz") &&
   wpid=$(pgrep -u _roomrec -f '^/usr/bin/convert_record_worker' | head -n1) && [ -n "$wpid" ]; then
  ok "convert_record_worker as _roomrec (pid $wpid) with $envf: roomrec-worker-ready returned, /healthz $health"
else
  cat "$use/worker.log"
  bad "the worker as _roomrec did not become ready"
fi
# Stop it as systemd would (SIGTERM to the worker), and wait for it.
for w in $(pgrep -u _roomrec -f '^/usr/bin/convert_record_worker'); do
  kill -TERM "$w" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$w" 2>/dev/null || break; sleep 0.2; done
done
wait

# Janus loads the installed plugin (a throw-away Janus from tests/janus/janus_env.py).
if /usr/bin/python3 check_janus.py "$libdir/janus/plugins/libjanus_roomrec.so" \
     /etc/janus/janus.plugin.roomrec.jcfg.sample "$use/janus" "$clone/tests/janus" >"$use/janus.out" 2>&1; then
  ok "$(tail -n1 "$use/janus.out")"
else
  cat "$use/janus.out"
  for l in "$use"/janus/janus/janus*.log; do [ -f "$l" ] && tail -n 20 "$l"; done
  bad "Janus loading the installed plugin"
fi

# ---- 4. purge: nothing left behind ---------------------------------------------------------
cd "$work" || die "cd $work"
if dpkg --purge "${PKGS[@]}" >"$work/purge.log" 2>&1; then
  installed=0
  ok "dpkg --purge ${PKGS[*]}"
else
  cat "$work/purge.log"
  bad "dpkg --purge failed"
fi
left=""
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
  [ -n "$st" ] && [ "${st:1:1}" != n ] && left+=" $p($st)"
done
after="$(snapshot)"
if [ -z "$left" ] && [ "$before" = "$after" ]; then
  ok "nothing left behind (dpkg database, files named roomrec in /usr /etc /var, _roomrec user, ld cache)"
else
  [ -n "$left" ] && echo "  still known to dpkg:$left"
  diff <(echo "$before") <(echo "$after") | sed 's/^/  /'
  bad "something was left behind after the purge"
fi

log "done in $(( $(date +%s) - start_s )) s"
summary
[ "$failed" = 0 ]
