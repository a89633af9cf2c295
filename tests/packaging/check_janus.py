"""Janus loads the installed janus.plugin.roomrec (tests/packaging/test_packages.sh).

    /usr/bin/python3 check_janus.py PLUGIN_SO SAMPLE_JCFG WORK_DIR JANUS_ENV_DIR

A throw-away Janus (tests/janus/janus_env.py: private config and plugin
folders, HTTP transport on a free loopback port) is given the installed
plugin file and the installed sample configuration (its folders pointed into
WORK_DIR). Janus must list the plugin in /info; a join with a forged token
must be refused by the plugin itself (error 445, libjwt's verification), and
one with the sample's app secret (record: false) joined with a recvonly answer.
"""
import re
import sys
import time
from pathlib import Path

plugin, sample, work, env_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
sys.path.insert(0, env_dir)
import janus_env  # noqa: E402

import jwt  # noqa: E402  (python3-jwt, installed by scripts/bootstrap)

NAME = "janus.plugin.roomrec"
text = sample.read_text()
rec, spill = work / "recordings", work / "spill"
# The sample's folders (under /var/lib/janus) go into the work folder; its demo app stays.
text, n_uri = re.subn(r'(?m)^(\s*)uri = "[^"]*"', rf'\1uri = "{rec}"', text, count=1)
text, n_spill = re.subn(r'(?m)^(\s*)spill_dir = "[^"]*"', rf'\1spill_dir = "{spill}"', text, count=1)
m = re.search(r'(?m)^\s*demo = "([^"]+)"', text)
if not (n_uri and n_spill and m):
    sys.exit(f"check_janus: the installed sample {sample} has no upload uri / spill_dir / demo app to adapt")

# An offer as a browser sends it (one Opus m-line; ICE and DTLS never start here).
OFFER = "\r\n".join([
    "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "a=msid-semantic: WMS", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:pKgT", "a=ice-pwd:0123456789abcdefghijklmn", "a=ice-options:trickle",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:0", "a=sendonly",
    "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1", "a=ssrc:1111 cname:pkg",
    ""])


def plugin_data(reply):
    return (reply.get("plugindata") or {}).get("data") or {}


def token(secret, record):
    return jwt.encode({"app": "demo", "room": "r", "peer": "p", "record": record,
                       "exp": int(time.time()) + 600}, secret, algorithm="HS256")


janus = janus_env.JanusServer(work / "janus", [plugin], {f"{NAME}.jcfg": text})
with janus:
    plugins = janus.info.get("plugins", {})
    if NAME not in plugins:
        sys.exit(f"check_janus: Janus loaded {sorted(plugins)}, not {NAME}")
    desc = plugins[NAME]
    s = janus_env.JanusSession(janus.base_url)
    forged = s.attach(NAME).message({"request": "join", "token": token("not-the-secret", True)},
                                    {"type": "offer", "sdp": OFFER})
    # The sample's demo secret, record: false: joined with an answer, nothing recorded.
    joined = s.attach(NAME).message({"request": "join", "token": token(m.group(1), False)},
                                    {"type": "offer", "sdp": OFFER})
    s.destroy()
refused = plugin_data(forged)
if refused.get("error_code") != 445 or "token" not in str(refused.get("error", "")):
    sys.exit(f"check_janus: a forged token got {forged}, expected the plugin's error 445")
ok = plugin_data(joined)
answer = (joined.get("jsep") or {}).get("sdp", "")
if ok.get("result") != "joined" or ok.get("recording") is not False or "a=recvonly" not in answer:
    sys.exit(f"check_janus: a valid token (record false) got {joined}, expected joined with a recvonly answer")
if rec.exists() and any(p.is_file() for p in rec.rglob("*")):
    sys.exit(f"check_janus: nothing should be recorded, found {sorted(rec.rglob('*'))}")
print(f"check_janus: Janus loaded {plugin} as {NAME} ({desc.get('name')} {desc.get('version_string')}); "
      f"forged token refused ({refused.get('error')}), valid one joined with a recvonly answer")
