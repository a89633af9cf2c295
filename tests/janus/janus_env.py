"""Janus for end-to-end tests: a throw-away instance in a temp folder, and a
small client for its HTTP API (shared by the aiortc publisher and the tests).

Run inside tests/janus/netns.sh (see /work/shared/reference/janus-e2e.md):
Janus never gathers ICE candidates on a loopback-flagged interface.
"""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
HTTP_TRANSPORT = JANUS_LIB / "transports" / "libjanus_http.so"
ECHOTEST_PLUGIN = JANUS_LIB / "plugins" / "libjanus_echotest.so"


class JanusError(RuntimeError):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code  # Janus API error code, when Janus answered with an error


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def log_tail(path, lines=40):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:])


def in_netns_problem():
    """None when running inside tests/janus/netns.sh, else the reason why not."""
    if os.environ.get("ROOMREC_NETNS") != "1":
        return "not inside the test network namespace: run under tests/janus/netns.sh"
    if "lo2" not in {name for _, name in socket.if_nameindex()}:
        return "ROOMREC_NETNS=1 but no lo2 interface: netns.sh setup did not happen here"
    return None


class JanusServer:
    """One Janus process with only the HTTP transport and the given plugins.

    plugins: paths of plugin .so files (symlinked into a private plugins folder).
    plugin_configs: {"janus.plugin.x.jcfg": "text", ...} written to the config folder.
    janus_extra: raw libconfig text appended to janus.jcfg (extra sections), or
    general_extra: raw lines added to janus.jcfg's general section.
    env: extra environment for Janus (e.g. {"LD_LIBRARY_PATH": build dir}).
    """

    def __init__(self, workdir, plugins, plugin_configs=None, *,
                 session_timeout=60, debug_level=4, general_extra="",
                 janus_extra="", janus_bin="janus", env=None, ready_timeout=10.0,
                 admin=False):
        self.dir = Path(workdir)
        self.plugins = [Path(p) for p in plugins]
        self.plugin_configs = dict(plugin_configs or {})
        self.session_timeout = session_timeout
        self.debug_level = debug_level
        self.general_extra = general_extra
        self.janus_extra = janus_extra
        self.janus_bin = janus_bin
        self.ready_timeout = ready_timeout
        self.env = {**os.environ, **(env or {})}
        # The Admin API (handle_info shows a plugin's query_session), if asked for.
        self.admin_port = free_port() if admin else None
        self.admin_secret = secrets.token_hex(8) if admin else None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/janus"
        self.proc = None
        self.starts = 0
        self.info = None
        self.log_path = None
        self.logs = []  # one log file per start (restart keeps the old ones)
        self._write_config()

    # -- configuration -------------------------------------------------------
    def _write_config(self):
        for p in [*self.plugins, HTTP_TRANSPORT]:
            if not p.is_file():
                raise JanusError(f"missing Janus module {p}")
        if shutil.which(self.janus_bin) is None:
            raise JanusError(f"{self.janus_bin} not found (apt-get install janus)")
        self.conf = self.dir / "conf"
        folders = {n: self.dir / n for n in ("plugins", "transports", "events", "loggers")}
        for f in [self.conf, *folders.values()]:
            f.mkdir(parents=True, exist_ok=True)
        for p in self.plugins:
            _symlink(p, folders["plugins"] / p.name)
        _symlink(HTTP_TRANSPORT, folders["transports"] / HTTP_TRANSPORT.name)
        (self.conf / "janus.jcfg").write_text(f"""\
general: {{
    configs_folder = "{self.conf}"
    plugins_folder = "{folders['plugins']}"
    transports_folder = "{folders['transports']}"
    events_folder = "{folders['events']}"
    loggers_folder = "{folders['loggers']}"
    debug_level = {self.debug_level}
    session_timeout = {self.session_timeout}
    {f'admin_secret = "{self.admin_secret}"' if self.admin_secret else ""}
    {self.general_extra}
}}
media: {{
    rtp_port_range = "20000-20999"
}}
nat: {{
    ice_ignore_list = "vmnet"
}}
{self.janus_extra}
""")
        (self.conf / "janus.transport.http.jcfg").write_text(f"""\
general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    ip = "127.0.0.1"
    port = {self.port}
    https = false
}}
admin: {{
    admin_http = {"true" if self.admin_port else "false"}
    admin_ip = "127.0.0.1"
    admin_port = {self.admin_port or 0}
    admin_base_path = "/admin"
}}
cors: {{
    allow_origin = "*"
}}
""")
        for name, text in self.plugin_configs.items():
            (self.conf / name).write_text(text)

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        if self.running:
            raise JanusError("Janus already running")
        self.log_path = self.dir / ("janus.log" if self.starts == 0
                                    else f"janus.restart{self.starts}.log")
        self.logs.append(self.log_path)
        self.starts += 1
        self._stderr = open(self.dir / "janus.stderr", "ab")
        self.proc = subprocess.Popen(
            [self.janus_bin, "-C", str(self.conf / "janus.jcfg"), "-F", str(self.conf),
             "-o", "-N", "-L", str(self.log_path)],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr,
            cwd=self.dir, env=self.env)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise JanusError(f"Janus exited with {self.proc.returncode} while "
                                 f"starting\n{self.diagnostics()}")
            try:
                self.info = http_json("GET", self.base_url + "/info", timeout=1)
                break
            except (OSError, ValueError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    self.stop()
                    raise JanusError(f"Janus did not answer {self.base_url}/info within "
                                     f"{self.ready_timeout}s\n{self.diagnostics()}")
                time.sleep(0.02)
        loaded = sorted(self.info.get("plugins", {}))
        if len(loaded) != len(self.plugins):
            self.stop()
            raise JanusError(f"Janus loaded plugins {loaded}, expected {len(self.plugins)} "
                             f"from {[str(p) for p in self.plugins]}\n{self.diagnostics()}")
        return self

    def admin_request(self, msg, path=""):
        """One Admin API request (needs admin=True); returns the reply."""
        if not self.admin_port:
            raise JanusError("JanusServer(admin=True) needed for the Admin API")
        body = {"transaction": _tid(), "admin_secret": self.admin_secret, **msg}
        r = http_json("POST", f"http://127.0.0.1:{self.admin_port}/admin{path}", body)
        if r.get("janus") == "error":
            raise JanusError(f"Admin API error: {r.get('error')}")
        return r

    def handles_info(self):
        """handle_info of every handle of every session (plugin_specific inside)."""
        out = []
        for sid in self.admin_request({"janus": "list_sessions"}).get("sessions", []):
            for hid in self.admin_request({"janus": "list_handles"}, f"/{sid}").get("handles", []):
                out.append(self.admin_request({"janus": "handle_info"}, f"/{sid}/{hid}")["info"])
        return out

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def kill(self, sig=signal.SIGKILL, timeout=10):
        """Send sig and wait for the process to exit; returns its exit status."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._stderr.close()

    def stop(self, timeout=10):
        """Graceful stop (SIGINT, as Ctrl-C), SIGKILL if it hangs. Idempotent."""
        if not self.running:
            return self.proc.returncode if self.proc else None
        try:
            return self.kill(signal.SIGINT, timeout)
        except subprocess.TimeoutExpired:
            return self.kill(signal.SIGKILL, timeout)

    def restart(self):
        """Stop (if still running) and start again on the same port and config."""
        self.stop()
        return self.start()

    def diagnostics(self):
        out = f"--- tail of {self.log_path} ---\n{log_tail(self.log_path)}"
        err = log_tail(self.dir / "janus.stderr", 20)
        if err.strip() and not err.startswith("(no log"):
            out += f"\n--- janus stdout/stderr ---\n{err}"
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _symlink(target, link):
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


# -- HTTP API client -----------------------------------------------------------

def http_json(method, url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _tid():
    return secrets.token_hex(6)


class JanusSession:
    """A Janus API session over HTTP with a daemon long-poll thread.

    Every event received is appended to .events (thread-safe; wait with
    wait_event). Close with destroy() (tells Janus) or close() (just stops
    polling, e.g. to simulate a vanished client).
    """

    def __init__(self, base_url, timeout=10):
        self.url = base_url.rstrip("/")
        self.timeout = timeout
        self.events = []
        self.poll_errors = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        r = self._post(self.url, {"janus": "create"})
        self.id = r["data"]["id"]
        self._thread = threading.Thread(target=self._poll, daemon=True,
                                         name=f"janus-poll-{self.id}")
        self._thread.start()
        # A pending long poll is no activity for Janus: keep the session alive
        # (a test may set a session_timeout shorter than the 30 s poll).
        threading.Thread(target=self._keepalive, daemon=True, name=f"janus-keepalive-{self.id}").start()

    def _keepalive(self, every=1.0):
        while not self._stop.wait(every):
            try:
                self.keepalive()
            except (OSError, ValueError, JanusError, http.client.HTTPException):
                pass

    def _post(self, url, msg):
        msg.setdefault("transaction", _tid())
        r = http_json("POST", url, msg, self.timeout)
        if r.get("janus") == "error":
            err = r.get("error", {})
            raise JanusError(f"Janus error {err.get('code')}: {err.get('reason')} "
                             f"(request {msg.get('janus')})", err.get("code"))
        return r

    def request(self, msg, handle_id=None):
        url = f"{self.url}/{self.id}" + (f"/{handle_id}" if handle_id else "")
        return self._post(url, msg)

    def _poll(self):
        while not self._stop.is_set():
            try:
                r = http_json("GET", f"{self.url}/{self.id}?maxev=5&rid={int(time.time()*1000)}",
                              timeout=40)
            except (OSError, ValueError, http.client.HTTPException) as e:
                if self._stop.is_set():
                    return
                self.poll_errors.append(repr(e))
                self._stop.wait(0.5)
                continue
            evs = r if isinstance(r, list) else [r]
            if any(e.get("janus") == "error" for e in evs):  # e.g. no such session
                self.poll_errors.append(json.dumps(evs))
                return
            evs = [e for e in evs if e.get("janus") != "keepalive"]
            if evs:
                with self._cond:
                    self.events.extend(evs)
                    self._cond.notify_all()

    def wait_event(self, pred, timeout=10.0, start=0):
        """First event (from index start) matching pred; JanusError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for e in self.events[start:]:
                    if pred(e):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JanusError(f"no matching Janus event within {timeout}s; "
                                     f"events: {json.dumps(self.events)[:2000]}; "
                                     f"poll errors: {self.poll_errors[-3:]}")
                self._cond.wait(left)

    def attach(self, plugin):
        r = self.request({"janus": "attach", "plugin": plugin})
        return JanusHandle(self, r["data"]["id"], plugin)

    def keepalive(self):
        return self.request({"janus": "keepalive"})

    def close(self):
        self._stop.set()

    def destroy(self):
        self._stop.set()
        try:
            return self.request({"janus": "destroy"})
        except (OSError, JanusError, http.client.HTTPException):
            return None


class JanusHandle:
    def __init__(self, session, handle_id, plugin):
        self.session = session
        self.id = handle_id
        self.plugin = plugin

    def events(self):
        """Events for this handle: plugin events, webrtcup, media, hangup, ..."""
        with self.session._cond:
            return [e for e in self.session.events if e.get("sender") == self.id]

    def message(self, body, jsep=None, timeout=10.0):
        """Send a plugin message; returns the plugin's reply as an event dict
        ({"plugindata": {"data": ...}, "jsep": ...}), synchronous or not."""
        msg = {"janus": "message", "body": body, "transaction": _tid()}
        if jsep is not None:
            msg["jsep"] = jsep
        r = self.session.request(msg, self.id)
        if r.get("janus") == "success":
            return r
        tid = msg["transaction"]
        return self.session.wait_event(
            lambda e: e.get("transaction") == tid and e.get("janus") == "event", timeout)

    def trickle(self, candidate=None):
        """candidate: an RTCIceCandidate-like dict, or None for end-of-candidates."""
        return self.session.request(
            {"janus": "trickle", "candidate": candidate or {"completed": True}}, self.id)

    def hangup(self):
        return self.session.request({"janus": "hangup"}, self.id)

    def detach(self):
        return self.session.request({"janus": "detach"}, self.id)


def summarize_event(e):
    """Compact view of a Janus event for results and assertions."""
    out = {"janus": e.get("janus")}
    if "plugindata" in e:
        out["data"] = e["plugindata"].get("data")
    if e.get("jsep"):
        out["jsep"] = e["jsep"].get("type")
    for k in ("type", "receiving", "reason", "uplink", "lost", "mid"):
        if k in e:
            out[k] = e[k]
    return out
