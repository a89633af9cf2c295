"""The end-to-end harness proven against Janus's own echotest plugin.

Run: tests/janus/netns.sh /usr/bin/python3 -m pytest -q tests/janus -k echotest
"""

import asyncio
import base64
import signal
import threading

import pytest

import aiortc_publisher
import janus_env

ECHO = "janus.plugin.echotest"
BODY = {"audio": True, "video": True}
MESSAGES = ["hello from the test", {"b64": base64.b64encode(bytes(range(256))).decode()},
            "{\"json\": [1, 2, 3]}", "last"]


def echoed(m):
    # echotest answers text with a prefix and echoes binary as is
    return m if isinstance(m, dict) else f"Janus EchoTest here! You wrote: {m}"


def check_published(r, video="VP8/90000", seconds=5):
    assert r["error"] is None, r
    assert r["joined"] and r["ice_connected"], r
    assert r["codecs"] == {"audio": "opus/48000/2", "video": video}, r["codecs"]
    # ~50 audio packets/s; video depends on the encoder but never under 5/s
    assert r["sent"]["audio"]["packets"] > 40 * seconds, r["sent"]
    assert r["sent"]["video"]["packets"] > 5 * seconds, r["sent"]
    for kind in ("audio", "video"):  # Janus echoed the media back
        assert r["received"][kind]["packets"] > 0.5 * r["sent"][kind]["packets"], r
    assert r["data_channel_open"]
    assert r["data_sent"] == MESSAGES
    assert r["data_received"] == [echoed(m) for m in MESSAGES]
    assert r["events"][0]["jsep"] == "answer", r["events"]
    assert {"janus": "webrtcup"} in r["events"], r["events"]
    assert abs(r["published_seconds"] - seconds) < 0.5


def test_echotest_aiortc(echotest_janus, aiortc_factory):
    pub = aiortc_factory(echotest_janus.base_url, ECHO, BODY, seconds=5, messages=MESSAGES)
    r = pub.result()
    check_published(r)
    assert r["frames_sent"]["video"] >= 140 and r["frames_sent"]["audio"] >= 240
    assert r["frames_received"]["video"] > 0 and r["frames_received"]["audio"] > 0


@pytest.mark.parametrize("codec", ["VP8", "H264"])
def test_echotest_chromium(echotest_janus, chromium_factory, codec):
    # echotest answers with its own codec order unless told: ask for the one preferred
    body = {**BODY, "videocodec": codec.lower()}
    r = chromium_factory(echotest_janus.base_url, ECHO, body, seconds=5, codec=codec,
                         messages=MESSAGES).result()
    check_published(r, video=f"{codec}/90000")
    if codec == "H264":
        assert "packetization-mode=1" in r["fmtp"]["video"], r["fmtp"]


def test_echotest_both_at_once(echotest_janus, aiortc_factory, chromium_factory):
    aio = aiortc_factory(echotest_janus.base_url, ECHO, BODY, seconds=5, messages=MESSAGES)
    chrome = chromium_factory(echotest_janus.base_url, ECHO, BODY, seconds=5, messages=MESSAGES)
    aio.wait_publishing()
    chrome.wait_publishing()
    check_published(chrome.result())
    check_published(aio.result())


def test_echotest_error_event_and_late_join(echotest_janus):
    # in-process use of the publisher; a plugin error event (no JSEP) is reported
    r = asyncio.run(aiortc_publisher.publish(echotest_janus.base_url, ECHO,
                                             {"audio": "not a boolean"}, delay=0.5))
    assert not r["joined"] and not r["ice_connected"]
    assert r["error"]["error_code"] == 413, r
    assert r["events"][0]["data"] == r["error"] and "jsep" not in r["events"][0]
    assert r["wall_seconds"] >= 0.5


def test_echotest_malformed_offer(echotest_janus):
    session = janus_env.JanusSession(echotest_janus.base_url)
    try:
        handle = session.attach(ECHO)
        # Janus's core refuses an unparsable SDP (465) before any plugin sees it
        with pytest.raises(janus_env.JanusError, match="not sdp") as e:
            handle.message(BODY, {"type": "offer", "sdp": "v=0\r\nthis is not sdp\r\n"})
        assert e.value.code == 465
    finally:
        session.destroy()


def test_echotest_killed_publisher_and_janus_restart(echotest_janus, aiortc_factory):
    janus = echotest_janus
    pub = aiortc_factory(janus.base_url, ECHO, BODY, seconds=30, messages=["x"])
    pub.wait_publishing()
    threading.Event().wait(1.0)
    pub.kill(signal.SIGKILL)
    assert pub.proc.returncode == -signal.SIGKILL
    assert janus.kill(signal.SIGKILL) == -signal.SIGKILL
    assert not janus.running
    janus.restart()
    assert janus.log_path.name == "janus.restart1.log" and len(janus.logs) == 2
    r = aiortc_factory(janus.base_url, ECHO, BODY, seconds=1, messages=MESSAGES).result()
    check_published(r, seconds=1)


def test_echotest_harness_recvonly_answer_recordplay(janus_factory, aiortc_factory,
                                                     chromium_factory, tmp_path):
    # roomrec answers recvonly like recordplay's "record": both clients must cope,
    # and what they sent must really arrive (recordplay writes it to .mjr files)
    rec = tmp_path / "recordings"
    rec.mkdir()
    janus = janus_factory([janus_env.JANUS_LIB / "plugins" / "libjanus_recordplay.so"],
                          {"janus.plugin.recordplay.jcfg": f'general: {{\n path = "{rec}"\n}}\n'})
    stop = {"request": "stop"}
    aio = aiortc_factory(janus.base_url, "janus.plugin.recordplay",
                         {"request": "record", "name": "aiortc"}, seconds=3, leave_body=stop,
                         label=None)  # recordplay rejects data channels: aiortc 1.4 chokes
    chrome = chromium_factory(janus.base_url, "janus.plugin.recordplay",
                              {"request": "record", "name": "chromium"}, seconds=3,
                              leave_body=stop)
    for r in (aio.result(), chrome.result()):
        assert r["error"] is None and r["ice_connected"], r
        assert r["sent"]["audio"]["packets"] > 100 and r["sent"]["video"]["packets"] > 15, r
        assert r["received"] == {} or all(v["packets"] == 0 for v in r["received"].values())
        assert r["events"][0]["data"]["result"]["status"] == "recording", r["events"]
        assert r["leave_reply"]["result"]["status"] == "stopped", r
    mjr = sorted(p.name for p in rec.glob("*.mjr") if p.stem.endswith(("-audio", "-video")))
    assert len(mjr) == 4 and all((rec / m).stat().st_size > 10_000 for m in mjr), mjr
