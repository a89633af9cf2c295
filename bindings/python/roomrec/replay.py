"""Replaying a recorded peer session as live RTP, without transcoding (roomrec_replayer_*)."""
from __future__ import annotations

import ctypes
import json
from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional

from ._lib import REPLAY_CB, ReplayItemStruct, convert_lib
from ._handle import Handle
from .errors import ErrorCode, InvalidArgumentError, check, out_json, out_string

Json = Dict[str, Any]

_KINDS = {0: "rtp", 1: "rtcp", 2: "data"}


class ReplayItem(NamedTuple):
    kind: str            # "rtp", "rtcp" or "data"
    track_id: int        # rtp, rtcp
    due_ms: int          # when to send, from the replay's start instant
    media_ms: int        # position in the recording from the start point
    recorded_ms: int     # unix ms the row was recorded
    keyframe: bool       # rtp: first packet of a video keyframe
    binary: bool         # data: a binary message
    label: str           # data: the channel label
    data: bytes          # the rtp/rtcp packet as it goes on the wire, or the data payload


def _item(s: ReplayItemStruct) -> ReplayItem:
    data = ctypes.string_at(s.bytes, s.size) if s.size else b""
    return ReplayItem(_KINDS.get(s.kind, str(s.kind)), int(s.track_id), int(s.due_ms), int(s.media_ms),
                      int(s.recorded_ms), bool(s.keyframe), bool(s.binary),
                      (s.label or b"").decode("utf-8", "replace"), data)


class Replayer(Handle):
    """Plays one recorded peer session back: iterate for (item by item, send each at item.due_ms after
    your start instant), or run(callback) to have the items paced on this thread.

        with roomrec.Replayer(input="/rec/app/room/1731132577000", peer="alice", speed=0) as r:
            print(r.sdp("127.0.0.1", 5004))
            for item in r:
                sock.sendto(item.data, ...)

    Options are those of roomrec_replayer_open's JSON (session, tracks, data, seek_ms, speed, rtcp,
    rtcp_interval_ms, cname, ntp_origin_ms, map, srtp)."""

    _what = "replayer"

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *, input: Optional[str] = None,
                 peer: Optional[str] = None, **options: Any) -> None:
        cfg: Json = dict(config or {})
        if input is not None:
            cfg["input"] = input
        if peer is not None:
            cfg["peer"] = peer
        cfg.update(options)
        self.callback_errors: List[BaseException] = []
        self._item = ReplayItemStruct()
        self._item.struct_size = ctypes.sizeof(ReplayItemStruct)
        h = c_void_p()
        check(convert_lib().roomrec_replayer_open(json.dumps(cfg).encode(), byref(h)))
        self._h: Optional[int] = h.value

    @property
    def info(self) -> Json:
        """{"peer", "session", "cname", "duration_ms", "start_ms", "tracks": [...]}"""
        return out_json(convert_lib().roomrec_replayer_info, self.handle)

    @property
    def tracks(self) -> List[Json]:
        return list(self.info["tracks"])

    def sdp(self, address: str, first_port: int) -> str:
        """An SDP for a receiver at address: track i on first_port + 2i, RTCP on the next port."""
        if not 0 < first_port < 65536:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, "first_port must be 1..65535")
        return out_string(convert_lib().roomrec_replayer_sdp, self.handle, address.encode(), first_port)

    def next(self) -> Optional[ReplayItem]:
        """The next item, or None at the end (raises when the replay failed)."""
        if check(convert_lib().roomrec_replayer_next(self.handle, byref(self._item))) == 0:
            return None
        return _item(self._item)

    def __iter__(self) -> Iterator[ReplayItem]:
        while True:
            it = self.next()
            if it is None:
                return
            yield it

    def run(self, callback: Callable[[ReplayItem], Optional[bool]]) -> None:
        """Calls callback(item) for each item at its due time, sleeping in between, on this thread.
        Returning False (or raising: the exception is kept in callback_errors) stops the replay, as does
        stop() from another thread; both then raise CancelledError."""
        def on_item(p: Any, _user: Any) -> int:
            try:
                return 1 if callback(_item(p.contents)) is False else 0
            except BaseException as e:  # noqa: BLE001 - never raised into C
                self.callback_errors.append(e)
                return 1

        cb = REPLAY_CB(on_item)  # alive for the whole call
        check(convert_lib().roomrec_replayer_run(self.handle, cb, None))

    def stop(self) -> None:
        """Makes a running run() return (CancelledError) within 50 ms. Any thread."""
        check(convert_lib().roomrec_replayer_stop(self.handle))

    @property
    def stats(self) -> Json:
        return out_json(convert_lib().roomrec_replayer_stats, self.handle)

    def _release(self, h: int) -> None:
        convert_lib().roomrec_replayer_free(h)
