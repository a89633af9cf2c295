"""roomrec: record WebRTC rooms into chunks, upload them, convert recordings (ctypes bindings).

    import roomrec
    with roomrec.Recorder({"upload": {"uri": "/tmp/rec"}}) as rec:
        with rec.open_session("app", "room", "alice", 1) as s:
            s.track_started(1, "audio", "opus")
            s.rtp(1, packet)
        rec.flush()
    roomrec.convert(input="/tmp/rec/app/room/<id>", transmux={"output": "/tmp/out"})
    for item in roomrec.Replayer(input="/tmp/rec/app/room/<id>", peer="alice", speed=0):
        send(item.data)                      # RTP/RTCP rewritten for a live receiver

The library is found through ROOMREC_LIBRARY, then (when run from a source
checkout) its build folders, then the system by soname (libroomrec.so.2, else
ctypes.util.find_library("roomrec")); its C ABI version is checked at import.
"""
from __future__ import annotations

import enum
import threading
from typing import Any, Callable, Optional

from ._lib import ABI_VERSION, LOG_CB, NULL_LOG_CB, lib
from .convert import ConvertJob, convert
from .errors import (CancelledError, ErrorCode, InvalidArgumentError, NotFoundError, PermissionDeniedError,
                     RecordResult, RoomrecError, RoomrecTimeoutError, UnsupportedError, check, strerror)
from .hooks import HookSender, RoomEvent
from .recorder import Recorder, Session, UrlRequest, now_ms
from .replay import ReplayItem, Replayer
from .s3 import presign

__all__ = [
    "ABI_VERSION", "CancelledError", "ConvertJob", "ErrorCode", "HookSender", "InvalidArgumentError", "LogLevel",
    "NotFoundError", "PermissionDeniedError", "RecordResult", "Recorder", "RoomEvent", "RoomrecError",
    "ReplayItem", "Replayer", "RoomrecTimeoutError", "Session", "UnsupportedError", "UrlRequest", "abi_version",
    "convert", "now_ms", "presign", "set_log_callback", "strerror", "version",
]


class LogLevel(enum.IntEnum):
    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    OFF = 5


def version() -> str:
    """The loaded library's version ("0.1.0")."""
    return lib.roomrec_version().decode()


def abi_version() -> int:
    return int(lib.roomrec_abi_version())


_log_lock = threading.Lock()
_log_cb: Any = NULL_LOG_CB  # kept alive while installed
_old_log_cbs: list = []  # never freed: a library thread may still be inside one


def set_log_callback(callback: Optional[Callable[[LogLevel, str, str], None]],
                     min_level: LogLevel = LogLevel.INFO) -> None:
    """Sends the library's log lines to callback(level, component, message), from any thread
    (possibly concurrently); None silences the library. Exceptions from the callback are ignored."""
    global _log_cb
    with _log_lock:
        if callback is None:
            check(lib.roomrec_set_log_callback(NULL_LOG_CB, None, int(LogLevel.OFF)))
            _old_log_cbs.append(_log_cb)
            _log_cb = NULL_LOG_CB
            return

        def on_log(level: int, component: bytes, message: bytes, _user: Any) -> None:
            try:
                callback(LogLevel(level), component.decode("utf-8", "replace"), message.decode("utf-8", "replace"))
            except BaseException:  # noqa: BLE001 - never raised into C
                pass

        cb = LOG_CB(on_log)
        check(lib.roomrec_set_log_callback(cb, None, int(min_level)))
        _old_log_cbs.append(_log_cb)
        _log_cb = cb
