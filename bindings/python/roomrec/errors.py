"""Error codes of the C ABI (pinned values) and the exceptions raised for them."""
from __future__ import annotations

import enum
import json
from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, Optional, Type

from ._lib import lib, take_string


class ErrorCode(enum.IntEnum):
    OK = 0
    INVALID_ARGUMENT = -1
    NOT_FOUND = -2
    CORRUPT = -3
    IO = -4
    RESOURCE_EXHAUSTED = -5
    UNAVAILABLE = -6
    PERMISSION_DENIED = -7
    TIMEOUT = -8
    CANCELLED = -9
    UNSUPPORTED = -10
    INTERNAL = -11


class RecordResult(enum.IntEnum):
    """What a session call did with its input (ROOMREC_RECORD_*)."""
    OK = 0
    MALFORMED = 1
    DECRYPT_FAILED = 2
    UNKNOWN_TRACK = 3
    TOO_LARGE = 4
    CLOSED = 5
    INVALID = 6
    PAUSED = 7  # rtp of a paused track or session, data of a paused session: counted, not recorded


def strerror(code: int) -> str:
    return lib.roomrec_strerror(int(code)).decode()


class RoomrecError(Exception):
    """A roomrec call failed. `code` is the (negative) C error code, `message` the library's message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{strerror(code)}: {message}" if message else strerror(code))
        self.code = int(code)
        self.message = message

    @property
    def name(self) -> str:
        return strerror(self.code)


class InvalidArgumentError(RoomrecError, ValueError):
    pass


class NotFoundError(RoomrecError):
    pass


class PermissionDeniedError(RoomrecError):
    pass


class RoomrecTimeoutError(RoomrecError, TimeoutError):
    pass


class CancelledError(RoomrecError):
    pass


class UnsupportedError(RoomrecError):
    pass


_CLASSES: Dict[int, Type[RoomrecError]] = {
    ErrorCode.INVALID_ARGUMENT: InvalidArgumentError,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.PERMISSION_DENIED: PermissionDeniedError,
    ErrorCode.TIMEOUT: RoomrecTimeoutError,
    ErrorCode.CANCELLED: CancelledError,
    ErrorCode.UNSUPPORTED: UnsupportedError,
}


def last_error() -> str:
    return lib.roomrec_last_error().decode("utf-8", "replace")


def error_for(code: int, message: Optional[str] = None) -> RoomrecError:
    cls = _CLASSES.get(code, RoomrecError)
    return cls(code, last_error() if message is None else message)


def check(code: int) -> int:
    """Raises for a negative code (with this thread's last error message); returns the code otherwise."""
    if code < 0:
        raise error_for(code)
    return code


def out_string(fn: Callable[..., int], *args: Any) -> str:
    """Calls a C function whose last parameter is a char** out-string; checks its code, returns the string."""
    out = c_void_p()
    check(fn(*args, byref(out)))
    return take_string(out) or ""


def out_json(fn: Callable[..., int], *args: Any) -> Any:
    """out_string() for functions that answer JSON: the decoded value ({} when empty)."""
    return json.loads(out_string(fn, *args) or "{}")
