"""Run the local S3 test server (tests/s3/start.js, @20minutes/s3rver) from Python.

Standard library only.  Usage::

    from s3rver_fixture import S3Server

    with S3Server(buckets=("roomrec-test",)) as s3:
        s3.endpoint      # "http://127.0.0.1:PORT"  (path-style addressing only)
        s3.port          # int
        s3.access_key    # "S3RVER"
        s3.secret_key    # "S3RVER"
        s3.region        # "us-east-1" (s3rver accepts any region in the scope)

The server needs ``npm ci`` to have been run in tests/s3 (node_modules is not
committed).  Set ROOMREC_NODE to use another node binary than the one on PATH.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional, Union

S3_DIR = Path(__file__).resolve().parent
REPO_ROOT = S3_DIR.parent.parent
START_JS = S3_DIR / "start.js"

ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"
DEFAULT_BUCKET = "roomrec-test"


class S3ServerError(RuntimeError):
    """The S3 test server could not be started."""


def node_binary() -> str:
    node = os.environ.get("ROOMREC_NODE") or shutil.which("node") or "/usr/bin/node"
    return node


def check_installed() -> None:
    """Raise S3ServerError with the fix when the npm dependencies are missing."""
    if not (S3_DIR / "node_modules" / "@20minutes" / "s3rver" / "package.json").is_file():
        raise S3ServerError(
            f"s3rver is not installed in {S3_DIR}/node_modules; run: "
            f"npm ci --prefix {S3_DIR}"
        )


class S3Server:
    """Context manager running one s3rver instance on a free 127.0.0.1 port."""

    def __init__(
        self,
        buckets: Iterable[str] = (DEFAULT_BUCKET,),
        directory: Optional[Union[str, os.PathLike]] = None,
        *,
        verbose: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.buckets = tuple(buckets)
        self.directory = Path(directory) if directory is not None else None
        self.verbose = verbose
        self.timeout = timeout
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION
        self.port: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None
        self._stderr = None

    # ------------------------------------------------------------- properties

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise S3ServerError("S3 server is not running")
        return f"http://127.0.0.1:{self.port}"

    def url(self, bucket: str, key: str = "") -> str:
        """Path-style URL of a bucket or object (key is used verbatim)."""
        return f"{self.endpoint}/{bucket}" + (f"/{key}" if key else "")

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    def stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    # ------------------------------------------------------------ life cycle

    def start(self) -> "S3Server":
        if self._proc is not None:
            raise S3ServerError("S3 server already started")
        check_installed()
        cmd = [node_binary(), "--openssl-legacy-provider", str(START_JS), "--exit-on-stdin-close"]
        for b in self.buckets:
            cmd += ["--bucket", b]
        if self.directory is not None:
            cmd += ["--dir", str(self.directory)]
        if self.verbose:
            cmd.append("--verbose")

        # stderr goes to a file: nobody has to drain it, and it is there to
        # quote when something goes wrong.
        self._stderr = tempfile.TemporaryFile(prefix="roomrec-s3rver-stderr-")
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,  # closing it (or our death) stops the server
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                cwd=str(REPO_ROOT),
                close_fds=True,
            )
        except OSError as exc:
            self._stderr.close()
            self._stderr = None
            raise S3ServerError(f"cannot run {cmd[0]}: {exc}") from exc

        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        buf = b""
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise S3ServerError(
                        f"S3 server did not report its port within {self.timeout:g} s; "
                        f"stdout so far: {buf!r}; stderr:\n{self.stderr_text()}"
                    )
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    try:
                        rc = self._proc.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        rc = None
                    raise S3ServerError(
                        f"S3 server exited before reporting its port (exit status {rc}); "
                        f"stdout: {buf!r}; stderr:\n{self.stderr_text()}"
                    )
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        parts = line.split()
        if len(parts) != 2 or parts[0] != "PORT" or not parts[1].isdigit():
            raise S3ServerError(
                f"unexpected first line from S3 server: {line!r}; stderr:\n{self.stderr_text()}"
            )
        return int(parts[1])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.port = None

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":  # manual check: python3 tests/s3/s3rver_fixture.py
    with S3Server() as server:
        print(server.endpoint)
