"""Janus loads the installed janus.plugin.roomrec (tests/packaging/test_packages.sh).

    /usr/bin/python3 check_janus.py PLUGIN_SO SAMPLE_JCFG WORK_DIR JANUS_ENV_DIR

A throw-away Janus (tests/janus/janus_env.py: private config and plugin
folders, HTTP transport on a free loopback port) is given the installed
plugin file and the installed sample configuration (its folders pointed into
WORK_DIR). Janus must list the plugin in /info, and a join with a forged
token must be refused by the plugin itself (error 445).
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

janus = janus_env.JanusServer(work / "janus", [plugin], {f"{NAME}.jcfg": text})
with janus:
    plugins = janus.info.get("plugins", {})
    if NAME not in plugins:
        sys.exit(f"check_janus: Janus loaded {sorted(plugins)}, not {NAME}")
    desc = plugins[NAME]
    s = janus_env.JanusSession(janus.base_url)
    h = s.attach(NAME)
    forged = jwt.encode({"app": "demo", "room": "r", "peer": "p", "record": True,
                         "exp": int(time.time()) + 600}, "not-the-secret", algorithm="HS256")
    reply = h.message({"request": "join", "token": forged})
    data = reply.get("data") or {}
    s.destroy()
if data.get("error_code") != 445 or "token" not in str(data.get("error", "")):
    sys.exit(f"check_janus: a forged token got {reply}, expected the plugin's error 445")
if rec.exists() and any(p.is_file() for p in rec.rglob("*")):
    sys.exit(f"check_janus: a refused join recorded {sorted(rec.rglob('*'))}")
print(f"check_janus: Janus loaded {plugin} as {NAME} ({desc.get('name')} {desc.get('version_string')}); "
      f"forged token refused: {data.get('error')}")
