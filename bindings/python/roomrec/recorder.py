"""Recorder and Session: record peer sessions into chunks and upload them."""
from __future__ import annotations

import ctypes
import json
import threading
import time
import weakref
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ._lib import (ERROR_CB, KEYFRAME_CB, UPLOADED_CB, URL_CB, lib, u8)
from ._handle import Handle
from .errors import ErrorCode, InvalidArgumentError, RecordResult, check, last_error, out_json, out_string

Json = Dict[str, Any]


def now_ms() -> int:
    return int(time.time() * 1000)


class UrlRequest:
    """A chunk waiting for a presigned PUT URL. Answer it exactly once, from any thread."""

    def __init__(self, handle: int, info: Json) -> None:
        self._handle: Optional[int] = handle
        self._lock = threading.Lock()
        self.info = info

    @property
    def key(self) -> str:
        return self.info["key"]

    def _take(self) -> int:
        with self._lock:
            if self._handle is None:
                raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, "this URL request was already answered")
            h, self._handle = self._handle, None
            return h

    def answer(self, url: str) -> None:
        check(lib.roomrec_url_request_answer(self._take(), u8(url)))

    def fail(self, message: str, code: int = ErrorCode.UNAVAILABLE) -> None:
        check(lib.roomrec_url_request_fail(self._take(), int(code), u8(message)))

    @property
    def answered(self) -> bool:
        return self._handle is None


def _session_of(session_h: Optional[int]) -> "Optional[Session]":
    """The Session whose handle is session_h, from the handle's user data (see Recorder.open_session)."""
    addr = lib.roomrec_session_user_data(session_h) if session_h else None
    if not addr:
        return None
    ref = ctypes.cast(c_void_p(addr), ctypes.py_object).value
    return ref()


class Session(Handle):
    """One peer session. Use it from one thread at a time. As a context manager it leaves on exit."""

    def __init__(self, recorder: "Recorder", handle: int) -> None:
        self._recorder = recorder  # keeps the recorder's callbacks alive
        self._h: Optional[int] = handle

    _what = "session"

    def _result(self, code: int) -> RecordResult:
        return RecordResult(check(code))

    def track_started(self, track_id: int, kind: str, codec: str, *, name: Optional[str] = None,
                      clock_rate: Optional[int] = None, channels: Optional[int] = None, fmtp: str = "",
                      ssrc: int = 0, rid: str = "", cvo_extension_id: int = 0,
                      extensions: "dict[int, str] | None" = None,
                      now: Optional[int] = None) -> RecordResult:
        track: Json = {"kind": kind, "codec": codec, "fmtp": fmtp, "ssrc": ssrc, "rid": rid,
                       "cvo_extension_id": cvo_extension_id}
        if name is not None:
            track["name"] = name
        if clock_rate is not None:
            track["clock_rate"] = clock_rate
        if channels is not None:
            track["channels"] = channels
        if extensions:  # {a=extmap id: URI}
            track["extensions"] = [{"id": i, "uri": u} for i, u in sorted(extensions.items())]
        return self._result(lib.roomrec_session_track_started(
            self.handle, track_id, json.dumps(track).encode(), now_ms() if now is None else now))

    def rtp(self, track_id: int, packet: bytes, now: Optional[int] = None) -> RecordResult:
        p = bytes(packet)
        return self._result(lib.roomrec_session_rtp(self.handle, track_id, p, len(p),
                                                     now_ms() if now is None else now))

    def rtcp(self, packet: bytes, now: Optional[int] = None) -> RecordResult:
        p = bytes(packet)
        return self._result(lib.roomrec_session_rtcp(self.handle, p, len(p), now_ms() if now is None else now))

    def data(self, label: str, message: Union[str, bytes], now: Optional[int] = None) -> RecordResult:
        binary = not isinstance(message, str)
        b = bytes(message) if binary else message.encode("utf-8")
        return self._result(lib.roomrec_session_data(self.handle, u8(label), int(binary), b, len(b),
                                                     now_ms() if now is None else now))

    def track_stopped(self, track_id: int, now: Optional[int] = None) -> RecordResult:
        return self._result(lib.roomrec_session_track_stopped(self.handle, track_id,
                                                              now_ms() if now is None else now))

    def leave(self, now: Optional[int] = None) -> RecordResult:
        return self._result(lib.roomrec_session_leave(self.handle, now_ms() if now is None else now))

    def close(self, now: Optional[int] = None) -> RecordResult:
        return self._result(lib.roomrec_session_close(self.handle, now_ms() if now is None else now))

    def _pause_call(self, pause: bool, track_id: Optional[int], now: Optional[int]) -> RecordResult:
        t = now_ms() if now is None else now
        if track_id is None:
            code = (lib.roomrec_session_pause if pause else lib.roomrec_session_resume)(self.handle, t)
        else:
            fn = lib.roomrec_session_pause_track if pause else lib.roomrec_session_resume_track
            code = fn(self.handle, track_id, t)
        r = self._result(code)
        if r == RecordResult.INVALID:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, last_error())
        if r == RecordResult.UNKNOWN_TRACK:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, f"track {track_id} is not started")
        return r

    def pause(self, track_id: Optional[int] = None, now: Optional[int] = None) -> RecordResult:
        """Stops recording the whole session (track_id None) or one track until resume(): their RTP (and,
        for the session, data messages) is counted in stats() and not recorded (rtp() answers PAUSED).
        Session and track pauses are independent. Pausing what is already paused raises
        InvalidArgumentError (so does an unknown track); a closed session gives RecordResult.CLOSED."""
        return self._pause_call(True, track_id, now)

    def resume(self, track_id: Optional[int] = None, now: Optional[int] = None) -> RecordResult:
        """Records the session (track_id None) or the track again; InvalidArgumentError if it is not paused."""
        return self._pause_call(False, track_id, now)

    @property
    def paused(self) -> bool:
        """Whether the whole session is paused (tracks paused on their own: stats()["paused_tracks"])."""
        return bool(self.stats()["paused"])

    def tick(self, now: Optional[int] = None) -> None:
        check(lib.roomrec_session_tick(self.handle, now_ms() if now is None else now))

    def stats(self) -> Json:
        return out_json(lib.roomrec_session_stats, self.handle)

    @property
    def room_path(self) -> str:
        return out_string(lib.roomrec_session_room_path, self.handle)

    @property
    def closed(self) -> bool:
        return bool(self.stats()["closed"])

    def _release(self, h: int) -> None:
        # Ends the session if open (no leave row) and releases it.
        lib.roomrec_session_set_user_data(h, None)
        lib.roomrec_session_free(h)

    def __exit__(self, *exc: Any) -> None:
        if self._h is not None:
            lib.roomrec_session_leave(self._h, now_ms())  # CLOSED if the host already left
        self.free()


UrlProvider = Callable[[UrlRequest], Optional[str]]


class Recorder(Handle):
    """Records sessions into chunks and uploads them (see capi/roomrec.h for the config).

    Callbacks (all optional) run on library threads:
      on_keyframe(session, track_id)   on the thread calling the session; must not call that session
      on_error(code, message)          store refusals, spill errors, failed upload attempts
      on_uploaded(key, size)           after each stored chunk
      url_provider(request)            returns a URL, or None and answers request later (any thread)
    Exceptions raised by callbacks are collected in `callback_errors`.
    """

    _what = "recorder"

    def __init__(self, config: Optional[Mapping[str, Any]] = None, *,
                 on_keyframe: Optional[Callable[[Session, int], None]] = None,
                 on_error: Optional[Callable[[int, str], None]] = None,
                 on_uploaded: Optional[Callable[[str, int], None]] = None,
                 url_provider: Optional[UrlProvider] = None,
                 start: bool = True) -> None:
        cfg = dict(config or {})
        if url_provider is not None and "upload" not in cfg:
            cfg["upload"] = {"callback": True}
        self.callback_errors: List[BaseException] = []
        self._lock = threading.Lock()
        h = c_void_p()
        check(lib.roomrec_recorder_new(json.dumps(cfg).encode(), byref(h)))
        self._h: Optional[int] = h.value
        self._url_provider = url_provider
        # The ctypes callback objects live as long as the recorder.
        self._cbs: List[Any] = []
        try:
            if on_keyframe is not None:
                def keyframe(session_h: Optional[int], track_id: int, _user: Any) -> None:
                    try:
                        s = _session_of(session_h)
                        if s is not None:
                            on_keyframe(s, track_id)
                    except BaseException as e:  # noqa: BLE001 - reported, never raised into C
                        self.callback_errors.append(e)
                cb = KEYFRAME_CB(keyframe)
                self._cbs.append(cb)
                check(lib.roomrec_recorder_set_keyframe_callback(self._h, cb, None))
            if on_error is not None:
                def error(code: int, message: bytes, _user: Any) -> None:
                    try:
                        on_error(code, message.decode("utf-8", "replace"))
                    except BaseException as e:  # noqa: BLE001
                        self.callback_errors.append(e)
                cb = ERROR_CB(error)
                self._cbs.append(cb)
                check(lib.roomrec_recorder_set_error_callback(self._h, cb, None))
            if on_uploaded is not None:
                def uploaded(key: bytes, size: int, _user: Any) -> None:
                    try:
                        on_uploaded(key.decode(), size)
                    except BaseException as e:  # noqa: BLE001
                        self.callback_errors.append(e)
                cb = UPLOADED_CB(uploaded)
                self._cbs.append(cb)
                check(lib.roomrec_recorder_set_uploaded_callback(self._h, cb, None))
            if url_provider is not None:
                def url(req_h: int, request_json: bytes, _user: Any) -> None:
                    req = UrlRequest(req_h, {})
                    try:
                        req.info = json.loads(request_json)
                        answer = url_provider(req)
                        if answer is not None:
                            req.answer(answer)
                    except BaseException as e:  # noqa: BLE001
                        self.callback_errors.append(e)
                        if not req.answered:
                            req.fail(f"url_provider raised {e!r}")
                cb = URL_CB(url)
                self._cbs.append(cb)
                check(lib.roomrec_recorder_set_url_callback(self._h, cb, None))
            if start:
                self.start()
        except BaseException:
            self.free()
            raise

    def start(self) -> None:
        check(lib.roomrec_recorder_start(self.handle))

    def open_session(self, app: str, room: str, peer: str, session_id: int = 0, *, ip: str = "",
                     user_agent: str = "", room_record_id: str = "", srtp: Optional[Mapping[str, str]] = None,
                     now: Optional[int] = None) -> Session:
        """Opens a peer session. srtp: {"sdes": "1 AES_CM_128_HMAC_SHA1_80 inline:..."},
        {"profile": ..., "inline": ...} or {"profile": ..., "key_hex": ...}."""
        params: Json = {"app": app, "room": room, "peer": peer, "session_id": session_id, "ip": ip,
                        "user_agent": user_agent, "room_record_id": room_record_id}
        if srtp is not None:
            params["srtp"] = dict(srtp)
        h = c_void_p()
        check(lib.roomrec_session_open(self.handle, json.dumps(params).encode(),
                                       now_ms() if now is None else now, byref(h)))
        s = Session(self, h.value)
        # Per-session user data: the address of a weak reference the Session owns,
        # so the keyframe callback gets its Session back without any lookup table.
        s._self_ref = weakref.ref(s)
        check(lib.roomrec_session_set_user_data(h.value, id(s._self_ref)))
        return s

    def flush(self, timeout: float = 60.0) -> None:
        """Waits until every chunk so far is uploaded; RoomrecTimeoutError otherwise."""
        check(lib.roomrec_recorder_flush(self.handle, int(timeout * 1000)))

    def shutdown(self, timeout: float = 10.0) -> int:
        """Closes the sessions, uploads for up to `timeout` s, keeps the rest on disk; returns chunks unsent."""
        unsent = c_size_t(0)
        check(lib.roomrec_recorder_shutdown(self.handle, int(timeout * 1000), byref(unsent)))
        return unsent.value

    def close_all(self, now: Optional[int] = None) -> None:
        check(lib.roomrec_recorder_close_all(self.handle, now_ms() if now is None else now))

    def stats(self) -> Json:
        return out_json(lib.roomrec_recorder_stats, self.handle)

    def _release(self, h: int) -> None:
        lib.roomrec_recorder_free(h)

    def close(self) -> None:
        self.free()

    def __exit__(self, *exc: Any) -> None:
        if self._h is not None:
            self.shutdown(10.0 if exc[0] is None else 0.0)
        self.free()
