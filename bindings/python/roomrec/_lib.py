"""Loading the libraries and declaring every C function.

libroomrec (capi/roomrec.h: recording, uploads, hooks, presigning) is loaded on
import; libroomrec-convert (capi/roomrec_convert.h: convert, replay) only when a
conversion or a replay is first used, so a recording-only process never maps a
codec. Both are found the same way: ROOMREC_LIBRARY / ROOMREC_CONVERT_LIBRARY,
then (in a source checkout) its build folders, then the system by soname
(libroomrec.so.2, ctypes.util.find_library), without any environment variable."""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t, c_uint8,
                    c_uint16, c_uint32, c_uint64, c_void_p)
from pathlib import Path
from typing import List, Optional

ABI_VERSION = 2

# Opaque handles are plain void pointers on the Python side.
handle_p = c_void_p


def _source_tree() -> Optional[Path]:
    """The source checkout these bindings run from (bindings/python/roomrec/_lib.py
    -> the root), or None for an installed package (pip, Debian's python3-roomrec)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "meson.build").is_file() and (root / "capi" / "roomrec.h").is_file():
        return root
    return None


def _candidates(name: str, env_var: str) -> List[str]:
    out: List[str] = []
    env = os.environ.get(env_var)
    if env:
        return [env]  # explicit: nothing else is tried
    if env_var != "ROOMREC_LIBRARY" and os.environ.get("ROOMREC_LIBRARY"):
        # beside an explicitly chosen libroomrec
        out.append(os.path.join(os.path.dirname(os.environ["ROOMREC_LIBRARY"]), f"lib{name}.so"))
    build = os.environ.get("ROOMREC_BUILD_DIR")
    if build:
        out.append(os.path.join(build, f"lib{name}.so"))
    root = _source_tree()
    if root is not None:  # a source checkout: its build folders first
        out.append(str(root / "build" / f"lib{name}.so"))
        out += sorted(glob.glob(str(root / "build*" / f"lib{name}.so")))
    # The system (Debian's libroomrec2 / libroomrec-convert2, or `meson install`): by soname.
    # First the soname of the C ABI these bindings are written for (the dynamic loader
    # searches its cache and default folders), then whatever ctypes.util.find_library
    # finds under that name (another ABI version is then refused by the check below).
    soname = f"lib{name}.so.{ABI_VERSION}"
    out.append(soname)
    found = ctypes.util.find_library(name)
    if found and found != soname:
        out.append(found)
    return out


def _load(name: str = "roomrec", env_var: str = "ROOMREC_LIBRARY") -> ctypes.CDLL:
    tried = []
    for path in _candidates(name, env_var):
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as exc:
            tried.append(f"{path} ({exc})")
    raise ImportError(f"lib{name} not found; set {env_var} to the path of lib{name}.so. Tried: " +
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
    _fields_ = [("struct_size", c_size_t), ("kind", c_int), ("track_id", c_uint32), ("due_ms", c_uint64), ("media_ms", c_uint64),
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
    "roomrec_session_pause": (c_int, [handle_p, c_uint64]),
    "roomrec_session_resume": (c_int, [handle_p, c_uint64]),
    "roomrec_session_pause_track": (c_int, [handle_p, c_uint32, c_uint64]),
    "roomrec_session_resume_track": (c_int, [handle_p, c_uint32, c_uint64]),
    "roomrec_session_stats": (c_int, [handle_p, char_pp]),
    "roomrec_session_room_path": (c_int, [handle_p, char_pp]),
    "roomrec_session_set_user_data": (c_int, [handle_p, c_void_p]),
    "roomrec_session_user_data": (c_void_p, [handle_p]),
    "roomrec_session_free": (None, [handle_p]),
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

_CONVERT_SIGNATURES = {
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
}


def _declare(dll: ctypes.CDLL, signatures) -> None:
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(dll, name)  # AttributeError here: the library lacks a function of this ABI
        fn.restype = restype
        fn.argtypes = argtypes


_declare(lib, _SIGNATURES)

_loaded_abi = lib.roomrec_abi_version()
if _loaded_abi != ABI_VERSION:
    raise ImportError(f"libroomrec at {lib._name} has C ABI version {_loaded_abi}; "
                      f"these bindings need {ABI_VERSION}")

_convert_lib: Optional[ctypes.CDLL] = None


def convert_lib() -> ctypes.CDLL:
    """libroomrec-convert, loaded (after libroomrec, which it links) on first use."""
    global _convert_lib
    if _convert_lib is None:
        dll = _load("roomrec-convert", "ROOMREC_CONVERT_LIBRARY")
        _declare(dll, _CONVERT_SIGNATURES)
        _convert_lib = dll
    return _convert_lib


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
