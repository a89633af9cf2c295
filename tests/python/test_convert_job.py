"""The asynchronous convert job: progress reports, result, cancel."""
from __future__ import annotations

import threading

import pytest

import roomrec
from conftest import T0, codecs, decodes, record_peer, synth_packets


@pytest.fixture(scope="module")
def recorded_room(tmp_path_factory, synth_dir):
    out = tmp_path_factory.mktemp("job-rec")
    with roomrec.Recorder({"max_chunk_bytes": 65536, "upload": {"uri": str(out)}}) as rec:
        with rec.open_session("py", "job-room", "frank", 1, now=T0) as s:
            record_peer(s, synth_packets(synth_dir, 4, 440, 40), T0)
            s.leave(T0 + 4100)
            path = s.room_path
        rec.flush(60)
    return str(out / path)


def test_job_reports_progress_and_result(tmp_path, recorded_room):
    reports = []
    threads = set()

    def progress(phase, done, total, fraction):
        threads.add(threading.get_ident())
        reports.append((phase, done, total, fraction))

    with roomrec.ConvertJob(input=recorded_room, transmux={"output": str(tmp_path / "t")},
                            compose={"output": str(tmp_path / "c.webm"), "width": 320, "height": 240, "fps": 10},
                            progress=progress) as job:
        assert job.wait(None) is True
        assert job.done
        result = job.result()
        assert job.result() == result  # may be asked again
    assert not job.callback_errors
    assert threading.get_ident() not in threads
    phases = [p for p, *_ in reports]
    assert "transmux" in phases and "compose" in phases
    assert phases.index("compose") > max(i for i, p in enumerate(phases) if p == "transmux")
    fractions = [f for *_, f in reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)
    assert all(0 <= f <= 1 for f in fractions)
    assert len(result["transmux"]["files"]) == 2
    assert codecs(str(tmp_path / "c.webm")) == ["opus", "vp8"]
    assert decodes(str(tmp_path / "c.webm"))


def test_job_cancelled_from_its_progress_callback(tmp_path, recorded_room):
    ready = threading.Event()
    holder = {}
    calls = []

    def progress(phase, done, total, fraction):
        if done >= total:
            return  # the final report comes too late to cancel
        ready.wait()
        calls.append(done)
        if len(calls) == 1:
            holder["job"].cancel()

    job = roomrec.ConvertJob(input=recorded_room,
                             compose={"output": str(tmp_path / "never.webm"), "width": 320, "height": 240},
                             progress=progress)
    holder["job"] = job
    ready.set()
    with pytest.raises(roomrec.CancelledError) as e:
        job.result()
    assert e.value.code == roomrec.ErrorCode.CANCELLED == -9
    assert calls and len(calls) == 1
    job.free()
    job.free()  # twice is harmless


def test_job_start_validates(tmp_path):
    with pytest.raises(roomrec.InvalidArgumentError):
        roomrec.ConvertJob(input=str(tmp_path), compose={"output": str(tmp_path / "x.webm"), "fps": 0})
