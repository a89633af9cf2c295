"""HookSender: hook events POSTed in order from one thread, retried until delivered."""
from __future__ import annotations

import enum
import json
from ctypes import byref, c_void_p
from typing import Any, Dict, Mapping, Optional, Union

from ._lib import lib, u8
from ._handle import Handle
from .errors import check, out_json


class RoomEvent(enum.IntEnum):
    STARTED = 0
    PEER_JOINED = 1
    PEER_LEAVED = 2
    ALL_PEERS_LEAVED = 3
    STOPPED = 4


class HookSender(Handle):
    """HookSender("http://receiver/hooks") or HookSender({"url": ..., "body_type": "protobuf-binary", ...})."""

    RECORD_STARTED = 0
    RECORD_PEER_JOINED = 1
    _what = "hook sender"

    def __init__(self, config: Union[str, Mapping[str, Any]]) -> None:
        cfg = {"url": config} if isinstance(config, str) else dict(config)
        h = c_void_p()
        check(lib.roomrec_hook_sender_new(json.dumps(cfg).encode(), byref(h)))
        self._h: Optional[int] = h.value

    def send_json(self, body: Union[str, Mapping[str, Any], list]) -> None:
        """Queues a JSON body as it is (Content-Type application/json)."""
        text = body if isinstance(body, str) else json.dumps(body)
        check(lib.roomrec_hook_sender_send_json(self.handle, text.encode()))

    def record_started(self, app: str, room: str, path: str, ts_ms: int = 0) -> None:
        check(lib.roomrec_hook_sender_record_event(self.handle, self.RECORD_STARTED, u8(app), u8(room), None,
                                                   u8(path), ts_ms))

    def record_peer_joined(self, app: str, room: str, peer: str, path: str, ts_ms: int = 0) -> None:
        check(lib.roomrec_hook_sender_record_event(self.handle, self.RECORD_PEER_JOINED, u8(app), u8(room),
                                                   u8(peer), u8(path), ts_ms))

    def room_event(self, kind: RoomEvent, app: str, room: str, peer: Optional[str] = None, ts_ms: int = 0) -> None:
        check(lib.roomrec_hook_sender_room_event(self.handle, int(kind), u8(app), u8(room), u8(peer), ts_ms))

    def flush(self, timeout: float = 10.0) -> None:
        """Waits until every queued event is delivered; RoomrecTimeoutError otherwise."""
        check(lib.roomrec_hook_sender_flush(self.handle, int(timeout * 1000)))

    def stats(self) -> Dict[str, int]:
        return out_json(lib.roomrec_hook_sender_stats, self.handle)

    def _release(self, h: int) -> None:
        lib.roomrec_hook_sender_free(h)

    def close(self) -> None:
        self.free()
