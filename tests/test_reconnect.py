"""A device that drops out is retried, the gap is recorded (as it happens, and to the end of
the session when the device never returns), and no sample is lost or touched."""
from __future__ import annotations

import asyncio

import numpy as np

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.devices.reconnect import ReconnectingDevice
from biofeed.engine import Engine
from biofeed.record.writer import SessionRecorder
from biofeed.stream import Chunk, StreamInfo

HR = StreamInfo("hr", "hr", "bpm", 10.0, ("hr",), "strap")


class _FlakyStrap(ReconnectingDevice):
    """Streams 10 Hz HR; the link drops at 2 s, refuses twice, goes silent once, then returns."""

    id = "strap"
    streams = (HR,)
    stale_s = 0.3
    backoff_s = (0.05, 0.2)

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.sent = 0

    async def connection(self, clock):
        self.attempts += 1
        if self.attempts in (2, 3):
            raise ConnectionRefusedError("strap not advertising")
        if self.attempts == 4:
            await asyncio.sleep(10)              # connected but silent: the watchdog fires
        while True:
            await asyncio.sleep(0.02)
            if self.attempts == 1 and self.sent >= 20:
                raise ConnectionResetError("link lost")
            t0 = round(clock.now(), 1) if self.attempts > 1 and self.sent == 20 else self.sent / 10
            yield Chunk(HR, [60.0 + self.sent % 7], t0=t0)
            self.sent += 1


def test_dropout_is_bridged_and_recorded_as_a_gap(tmp_path):
    strap = _FlakyStrap()
    recorder = SessionRecorder(tmp_path)
    clock = SessionClock()
    engine = Engine([strap], sinks=[recorder], clock=clock, duration=4.0)
    asyncio.run(engine.run())
    assert strap.attempts == 5 and strap.reconnects == 4
    rec = bf.read(recorder.path)
    hr = rec.signals["hr"]
    assert len(hr) == strap.sent
    np.testing.assert_array_equal(hr.values, [60.0 + i % 7 for i in range(strap.sent)])
    gaps = rec.events[rec.events.kind == "gap"]
    assert len(gaps) == 1
    gap = gaps.iloc[0]
    assert 0.5 < gap.duration < 3.0 and gap.payload["device"] == "strap"
    assert "StaleData" in gap.payload["reason"]
    assert len(rec.gaps("hr")) == 1
    # the loss and the return as device events around the one gap, the status, the counts
    dev = rec.events[rec.events.kind == "device"]
    assert list(dev.label) == ["strap disconnected", "strap reconnected"]
    assert dev.onset.iloc[0] == gap.onset and dev.onset.iloc[1] == gap.onset + gap.duration
    assert dev.payload.iloc[0]["reason"].startswith("ConnectionResetError: link lost")
    assert dev.payload.iloc[1]["gap_s"] == gap.duration
    st = engine.device_status()["strap"]
    assert (st.state, st.gaps, st.disconnected_s) == ("connected", 1, gap.duration)
    assert rec.meta["device_errors"]["strap"] == {
        "decode_errors": 0, "reconnects": 4, "gaps": 1, "disconnected_s": round(gap.duration, 3),
        "state": "connected", "missing_at_start": False}


def test_the_drop_out_is_in_the_file_and_the_status_while_it_lasts(tmp_path):
    """A strap lost for good: the loss is on disk within a commit (a kill -9 would keep it),
    the status says disconnected, and at the end the gap runs to the end of the session."""
    strap = _FlakyStrap()
    strap.connection = _lost_for_good(strap)
    recorder = SessionRecorder(tmp_path)
    engine = Engine([strap], sinks=[recorder], duration=2.0)
    during = {}

    async def look():
        await asyncio.sleep(1.5)                     # lost at 0.4 s, committed by 0.65 s
        during["status"] = engine.device_status()["strap"]
        during["events"] = bf.read(recorder.path).events

    async def main():
        await asyncio.gather(engine.run(), look())

    asyncio.run(main())
    st = during["status"]
    assert st.state == "disconnected" and 0.35 < st.since_s < 0.6 and "link lost" in st.reason
    ev = during["events"]
    assert list(ev.kind) == ["device", "gap"] and ev.payload.iloc[1]["open"] is True
    assert ev.duration.iloc[1] == 0.0 and ev.onset.iloc[1] == st.since_s
    rec = bf.read(recorder.path)
    (gap,) = rec.events[rec.events.kind == "gap"].itertuples()
    assert gap.onset == st.since_s and gap.onset + gap.duration == 2.0
    assert gap.payload["until"] == "end of session" and "open" not in gap.payload
    assert "ConnectionRefusedError" in gap.payload["reason"]               # the last attempt's error
    report = rec.meta["device_errors"]["strap"]
    assert report["gaps"] == 1 and report["state"] == "disconnected"
    assert report["disconnected_s"] == round(2.0 - st.since_s, 3) and report["reconnects"] >= 3


def _lost_for_good(strap):
    async def connection(clock):
        strap.attempts += 1
        if strap.attempts > 1:
            raise ConnectionRefusedError("strap not advertising")
        while strap.sent < 20:
            await asyncio.sleep(0.02)
            yield Chunk(HR, [60.0], t0=strap.sent / 10)
            strap.sent += 1
        raise ConnectionResetError("link lost")
    return connection


def test_a_strap_that_is_late_is_disconnected_from_the_start(tmp_path):
    """Bluetooth is not probed before the start: a strap whose first attempts fail is missing
    from 0 s (not from its first failure) until its data come."""
    strap = _FlakyStrap()

    async def late(clock):
        strap.attempts += 1
        if strap.attempts <= 3:
            await asyncio.sleep(0.2)                 # a connect attempt that times out
            raise TimeoutError("strap not found")
        while True:
            await asyncio.sleep(0.02)
            yield Chunk(HR, [61.0], t0=clock.now())
    strap.connection = late
    strap.backoff_s = (0.02, 0.05)
    recorder = SessionRecorder(tmp_path)
    engine = Engine([strap], sinks=[recorder], duration=1.2)
    asyncio.run(engine.run())
    rec = bf.read(recorder.path)
    (gap,) = rec.events[rec.events.kind == "gap"].itertuples()
    first = rec.signals["hr"].times[0]
    assert gap.onset == 0.0 and gap.duration == first and gap.payload["at_start"] is True
    assert "TimeoutError: strap not found" in gap.payload["reason"]
    assert engine.device_status()["strap"].missing_at_start
    assert list(rec.events[rec.events.kind == "device"].label) == ["strap disconnected",
                                                                   "strap reconnected"]
