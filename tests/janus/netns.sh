#!/bin/sh
# Run CMD... as root inside a throw-away network namespace holding lo plus an
# ifb device lo2 (non-loopback flag) carrying 127.0.0.1/32 and 127.0.0.2/32, so
# Janus (which never gathers on loopback-flagged interfaces), aiortc (which
# skips 127.0.0.1) and Chromium can all do ICE with each other and nothing else.
# See /work/shared/reference/janus-e2e.md. Fails loudly, never skips.
set -eu

die() { echo "netns.sh: $*" >&2; exit 2; }

[ $# -gt 0 ] || die "usage: netns.sh CMD [ARG...]"

if [ "${ROOMREC_NETNS_INNER:-}" != 1 ]; then
    command -v unshare >/dev/null 2>&1 || die "unshare not found (util-linux)"
    command -v ip >/dev/null 2>&1 || die "ip not found (iproute2)"
    [ "$(id -u 2>/dev/null)" = 0 ] || die "must run as root (needs unshare -n and ip link add)"
    err=$(unshare -n true 2>&1) || die "unshare -n failed: $err"
    ROOMREC_NETNS_INNER=1 exec unshare -n -- "$0" "$@"
fi

# Inside the new namespace from here on.
unset ROOMREC_NETNS_INNER
ip link set lo up || die "cannot bring lo up"
ip link add lo2 type ifb \
    || die "cannot create an ifb device (kernel module ifb missing?)"
ip link set lo2 addrgenmode none || die "cannot set addrgenmode none on lo2"
ip addr add 127.0.0.1/32 dev lo2 || die "cannot add 127.0.0.1/32 to lo2"
ip addr add 127.0.0.2/32 dev lo2 || die "cannot add 127.0.0.2/32 to lo2"
ip link set lo2 up || die "cannot bring lo2 up"
export ROOMREC_NETNS=1
exec "$@"
