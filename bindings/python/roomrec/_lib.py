"""Loading libroomrec and declaring every C function (capi/roomrec.h)."""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t, c_uint8,
                    c_uint16, c_uint32, c_uint64, c_void_p)
from pathlib import Path
from typing import List, Optional

ABI_VERSION = 1

# Opaque handles are plain void pointers on the Python side.
handle_p = c_void_p


def _candidates() -> List[str]:
    out: List[str] = []
    env = os.environ.get("ROOMREC_LIBRARY")
    if env:
        return [env]  # explicit: nothing else is tried
    build = os.environ.get("ROOMREC_BUILD_DIR")
    if build:
        out.append(os.path.join(build, "libroomrec.so"))
    # bindings/python/roomrec/_lib.py -> the source tree's build folders.
    root = Path(__file__).resolve().parents[3]
    out.append(str(root / "build" / "libroomrec.so"))
    out += sorted(glob.glob(str(root / "build*" / "libroomrec.so")))
    found = ctypes.util.find_library("roomrec")
    if found:
        out.append(found)
    return out


def _load() -> ctypes.CDLL:
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            tried.append(f"{path} ({exc})")
    raise ImportError("libroomrec not found; set ROOMREC_LIBRARY to the path of libroomrec.so. Tried: " +
                      "; ".join(tried or ["nothing"]))


lib = _load()

# ---- callback types -------------------------------------------------------------
LOG_CB = CFUNCTYPE(None, c_int, c_char_p, c_char_p, c_void_p)
KEYFRAME_CB = CFUNCTYPE(None, c_void_p, c_uint32, c_void_p)
ERROR_CB = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
UPLOADED_CB = CFUNCTYPE(None, c_char_p, c_uint64, c_void_p)
URL_CB = CFUNCTYPE(None, c_void_p, c_char_p, c_void_p)
PROGRESS_CB = CFUNCTYPE(None, c_char_p, c_uint64, c_uint64, c_double, c_void_p)


class ReplayItemStruct(Structure):
    """roomrec_replay_item."""
    _fields_ = [("kind", c_int), ("track_id", c_uint32), ("due_ms", c_uint64), ("media_ms", c_uint64),
                ("recorded_ms", c_uint64), ("keyframe", c_int), ("binary", c_int), ("label", c_char_p),
                ("bytes", POINTER(c_uint8)), ("size", c_size_t)]


REPLAY_CB = CFUNCTYPE(c_int, POINTER(ReplayItemStruct), c_void_p)

char_pp = POINTER(c_void_p)  # char** out-strings, read and released by take_string()
handle_pp = POINTER(c_void_p)
bytes_p = c_char_p           # const uint8_t* taken from a bytes object

_SIGNATURES = {
    "roomrec_version": (c_char_p, []),
    "roomrec_abi_version": (c_int, []),
    "roomrec_strerror": (c_char_p, [c_int]),
    "roomrec_last_error": (c_char_p, []),
    "roomrec_free_string": (None, [c_void_p]),
    "roomrec_set_log_callback": (c_int, [LOG_CB, c_void_p, c_int]),
    # recorder
    "roomrec_recorder_new": (c_int, [c_char_p, handle_pp]),
    "roomrec_recorder_set_keyframe_callback": (c_int, [handle_p, KEYFRAME_CB, c_void_p]),
    "roomrec_recorder_set_error_callback": (c_int, [handle_p, ERROR_CB, c_void_p]),
    "roomrec_recorder_set_uploaded_callback": (c_int, [handle_p, UPLOADED_CB, c_void_p]),
    "roomrec_recorder_set_url_callback": (c_int, [handle_p, URL_CB, c_void_p]),
    "roomrec_url_request_answer": (c_int, [handle_p, c_char_p]),
    "roomrec_url_request_fail": (c_int, [handle_p, c_int, c_char_p]),
    "roomrec_recorder_start": (c_int, [handle_p]),
    "roomrec_recorder_flush": (c_int, [handle_p, c_uint64]),
    "roomrec_recorder_shutdown": (c_int, [handle_p, c_uint64, POINTER(c_size_t)]),
    "roomrec_recorder_close_all": (c_int, [handle_p, c_uint64]),
    "roomrec_recorder_stats": (c_int, [handle_p, char_pp]),
    "roomrec_recorder_free": (None, [handle_p]),
    # sessions
    "roomrec_session_open": (c_int, [handle_p, c_char_p, c_uint64, handle_pp]),
    "roomrec_session_track_started": (c_int, [handle_p, c_uint32, c_char_p, c_uint64]),
    "roomrec_session_rtp": (c_int, [handle_p, c_uint32, bytes_p, c_size_t, c_uint64]),
    "roomrec_session_rtcp": (c_int, [handle_p, bytes_p, c_size_t, c_uint64]),
    "roomrec_session_data": (c_int, [handle_p, c_char_p, c_int, bytes_p, c_size_t, c_uint64]),
    "roomrec_session_track_stopped": (c_int, [handle_p, c_uint32, c_uint64]),
    "roomrec_session_leave": (c_int, [handle_p, c_uint64]),
    "roomrec_session_close": (c_int, [handle_p, c_uint64]),
    "roomrec_session_tick": (c_int, [handle_p, c_uint64]),
    "roomrec_session_stats": (c_int, [handle_p, char_pp]),
    "roomrec_session_room_path": (c_int, [handle_p, char_pp]),
    "roomrec_session_free": (None, [handle_p]),
    # conversion
    "roomrec_convert": (c_int, [c_char_p, char_pp]),
    "roomrec_convert_job_start": (c_int, [c_char_p, PROGRESS_CB, c_void_p, handle_pp]),
    "roomrec_convert_job_cancel": (c_int, [handle_p]),
    "roomrec_convert_job_wait": (c_int, [handle_p, c_int64]),
    "roomrec_convert_job_result": (c_int, [handle_p, char_pp]),
    "roomrec_convert_job_free": (None, [handle_p]),
    # replay
    "roomrec_replayer_open": (c_int, [c_char_p, handle_pp]),
    "roomrec_replayer_info": (c_int, [handle_p, char_pp]),
    "roomrec_replayer_sdp": (c_int, [handle_p, c_char_p, c_uint16, char_pp]),
    "roomrec_replayer_next": (c_int, [handle_p, POINTER(ReplayItemStruct)]),
    "roomrec_replayer_run": (c_int, [handle_p, REPLAY_CB, c_void_p]),
    "roomrec_replayer_stop": (c_int, [handle_p]),
    "roomrec_replayer_stats": (c_int, [handle_p, char_pp]),
    "roomrec_replayer_free": (None, [handle_p]),
    # S3
    "roomrec_s3_presign": (c_int, [c_char_p, c_char_p, c_char_p, c_uint32, c_int64, char_pp]),
    # hooks
    "roomrec_hook_sender_new": (c_int, [c_char_p, handle_pp]),
    "roomrec_hook_sender_send_json": (c_int, [handle_p, c_char_p]),
    "roomrec_hook_sender_record_event": (c_int, [handle_p, c_int, c_char_p, c_char_p, c_char_p, c_char_p, c_uint64]),
    "roomrec_hook_sender_room_event": (c_int, [handle_p, c_int, c_char_p, c_char_p, c_char_p, c_uint64]),
    "roomrec_hook_sender_flush": (c_int, [handle_p, c_uint64]),
    "roomrec_hook_sender_stats": (c_int, [handle_p, char_pp]),
    "roomrec_hook_sender_free": (None, [handle_p]),
}

for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)  # AttributeError here: the library lacks a function of this ABI
    _fn.restype = _restype
    _fn.argtypes = _argtypes

_loaded_abi = lib.roomrec_abi_version()
if _loaded_abi != ABI_VERSION:
    raise ImportError(f"libroomrec at {lib._name} has C ABI version {_loaded_abi}; "
                      f"these bindings need {ABI_VERSION}")

NULL_LOG_CB = LOG_CB()
NULL_PROGRESS_CB = PROGRESS_CB()


def take_string(p: c_void_p) -> Optional[str]:
    """Decodes a char* the library handed out and releases it."""
    if not p.value:
        return None
    try:
        return ctypes.string_at(p.value).decode("utf-8")
    finally:
        lib.roomrec_free_string(p.value)


def u8(s: Optional[str]) -> Optional[bytes]:
    return None if s is None else s.encode("utf-8")
