"""A device that drops out is retried, the gap is recorded, and no sample is lost or touched."""
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
