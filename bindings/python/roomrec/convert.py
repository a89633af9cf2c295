"""Converting recordings: transmux (one file per track), compose (one WebM) and one file per participant."""
from __future__ import annotations

import json
from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, List, Mapping, Optional

from ._lib import NULL_PROGRESS_CB, PROGRESS_CB, convert_lib
from ._handle import Handle
from .errors import check, out_json

Json = Dict[str, Any]
ProgressCallback = Callable[[str, int, int, float], None]


def _job(job: Optional[Mapping[str, Any]], input: Optional[str], transmux: Optional[Mapping[str, Any]],
         compose: Optional[Mapping[str, Any]], participants: Optional[Mapping[str, Any]] = None,
         selection: Optional[Mapping[str, Any]] = None) -> bytes:
    j: Json = dict(job or {})
    if selection is not None:
        j["selection"] = dict(selection)
    if input is not None:
        j["input"] = input
    if transmux is not None:
        j["transmux"] = dict(transmux)
    if compose is not None:
        j["compose"] = dict(compose)
    if participants is not None:
        j["participants"] = dict(participants)
    return json.dumps(j).encode()


def convert(job: Optional[Mapping[str, Any]] = None, *, input: Optional[str] = None,
            transmux: Optional[Mapping[str, Any]] = None, compose: Optional[Mapping[str, Any]] = None,
            participants: Optional[Mapping[str, Any]] = None,
            selection: Optional[Mapping[str, Any]] = None) -> Json:
    """Runs a conversion job on this thread and returns its result as a dict.

    convert(input="/rec/app/room/1731132577000", transmux={"output": "/out", "pause_mode": "cut"},
            compose={"output": "/out/room.webm"},
            participants={"output": "/out/people", "multichannel": True},
            selection={"exclude_peers": ["bob"]})

    transmux/compose "pause_mode": "cut" (the default: paused time taken out) or "keep" (it stays as a gap); selection (consent):
    {"include_peers": [...], "exclude_peers": [...], "exclude_tracks": ["peer/track" or "track"]}.

    compose takes the C ABI's fields (roomrec_convert.h), e.g. a layout:
    compose={"output": "/out/room.webm", "layout": "speaker", "names": True} or a custom one,
    "layout": {"regions": [{"w": 0.75, "role": "screen"}, {"x": 0.75, "w": 0.25, "role": "others"}],
               "changes": [{"at": "10:02", "layout": "presentation"}]}.
    """
    return out_json(convert_lib().roomrec_convert, _job(job, input, transmux, compose, participants, selection))


class ConvertJob(Handle):
    """A conversion running on a thread of its own.

    progress(phase, done_ms, total_ms, fraction) runs on one of the job's threads, one call at a
    time; it may call cancel(). Exceptions it raises are kept in `callback_errors`.
    """

    def __init__(self, job: Optional[Mapping[str, Any]] = None, *, input: Optional[str] = None,
                 transmux: Optional[Mapping[str, Any]] = None, compose: Optional[Mapping[str, Any]] = None,
                 participants: Optional[Mapping[str, Any]] = None,
                 selection: Optional[Mapping[str, Any]] = None,
                 progress: Optional[ProgressCallback] = None) -> None:
        self.callback_errors: List[BaseException] = []
        if progress is not None:
            def on_progress(phase: bytes, done: int, total: int, fraction: float, _user: Any) -> None:
                try:
                    progress(phase.decode(), done, total, fraction)
                except BaseException as e:  # noqa: BLE001 - never raised into C
                    self.callback_errors.append(e)
            self._cb = PROGRESS_CB(on_progress)
        else:
            self._cb = NULL_PROGRESS_CB
        h = c_void_p()
        check(convert_lib().roomrec_convert_job_start(_job(job, input, transmux, compose, participants, selection), self._cb, None,
                                                     byref(h)))
        self._h: Optional[int] = h.value

    _what = "job"

    def cancel(self) -> None:
        check(convert_lib().roomrec_convert_job_cancel(self.handle))

    def wait(self, timeout: Optional[float] = None) -> bool:
        """True once the job has finished; False if still running after `timeout` seconds."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        return check(convert_lib().roomrec_convert_job_wait(self.handle, ms)) == 1

    @property
    def done(self) -> bool:
        return self.wait(0)

    def result(self) -> Json:
        """Waits for the job; its result dict, or the job's error raised (CancelledError...)."""
        return out_json(convert_lib().roomrec_convert_job_result, self.handle)

    def _release(self, h: int) -> None:
        # Cancels the job if it runs, waits for it and releases it.
        convert_lib().roomrec_convert_job_free(h)
