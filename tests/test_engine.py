"""The engine end to end with the simulated sensor, the runner and a real session file."""
from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import biofeed as bf
from biofeed.clock import SessionClock
from biofeed.devices.base import Device
from biofeed.devices.simulated import SimulatedSensor
from biofeed.engine import Engine
from biofeed.processor import Processor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.record.writer import SessionRecorder
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig
from biofeed.stream import Chunk, StreamInfo


def _demo_session(tmp_path, speed=400.0, duration=None, seed=0, processors=()):
    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=seed), runner.state_at)
    return Session([sensor], runner, out_dir=tmp_path, participant="P7", speed=speed,
                   duration=duration, processors=processors)


def test_demo_session_records_every_sample_and_phase(tmp_path):
    session = _demo_session(tmp_path)
    end = asyncio.run(session.run())
    assert end.t_end == 240.0 and end.ended_by == "end of session"
    rec = bf.read(session.path)
    assert rec.complete and rec.meta["duration_s"] == 240.0 and rec.meta["time_scale"] == 400.0
    for name, rate in (("ecg", 250.0), ("eda", 32.0), ("resp", 32.0)):
        sig = rec.signals[name]
        assert len(sig) == int(rate * 240)                      # exact at the simulated end
        np.testing.assert_allclose(np.diff(sig.times), 1 / rate, atol=1e-9)
        assert rec.gaps(name) == []
    phases = rec.events[rec.events.kind == "phase"]
    assert phases.label.tolist() == ["baseline", "stressor", "recovery", "paced_breathing"]
    assert phases.onset.tolist() == [0.0, 60.0, 120.0, 180.0]
    assert phases.duration.tolist() == [60.0] * 4
    prompt = rec.events[rec.events.kind == "prompt"]
    assert prompt.label.tolist() == ["stressor"] and "close to you" in prompt.payload.iloc[0]["text"]
    paced = phases.payload.iloc[3]
    assert paced["pacer_rate_bpm"] == 6.0


def test_stop_ends_cleanly_and_truncates_the_running_phase(tmp_path):
    session = _demo_session(tmp_path, speed=100.0)
    threading.Timer(0.9, session.stop, args=("stopped by test",)).start()   # ~90 s session time
    end = asyncio.run(session.run())
    assert end.ended_by == "stopped by test" and 60 < end.t_end < 120
    rec = bf.read(session.path)
    assert rec.complete and rec.meta["ended_by"] == "stopped by test"
    phases = rec.events[rec.events.kind == "phase"]
    assert phases.label.tolist() == ["baseline", "stressor"]
    assert phases.duration.iloc[1] == pytest.approx(end.t_end - 60.0)
    assert phases.payload.iloc[1]["truncated"] and phases.payload.iloc[1]["planned_duration_s"] == 60.0
    ecg = rec.signals["ecg"]
    assert ecg.times[-1] > end.t_end - 2.0


class _ScaledCopy(Processor):
    """Test processor: doubles a stream, to check the bus feeds processors and records outputs."""

    def __init__(self, source: StreamInfo) -> None:
        self.inputs = (source.name,)
        self.outputs = (StreamInfo(source.name + ".x2", source.kind, source.unit, source.rate,
                                   source.channels, "test", derived=True),)

    def update(self, chunk: Chunk) -> list[Chunk]:
        return [Chunk(self.outputs[0], 2 * chunk.values, t0=chunk.t0)]


def test_processor_outputs_are_published_and_recorded(tmp_path):
    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=3), runner.state_at)
    session = Session([sensor], runner, out_dir=tmp_path, speed=400.0, duration=30.0,
                      processors=[_ScaledCopy(sensor.eda)])
    asyncio.run(session.run())
    rec = bf.read(session.path)
    assert rec.streams["eda.x2"].derived
    np.testing.assert_array_equal(rec.signals["eda.x2"].values, 2 * rec.signals["eda"].values)


def test_engine_rejects_unknown_inputs_and_duplicate_names():
    sensor = SimulatedSensor()
    with pytest.raises(ValueError, match="two streams are named 'ecg'"):
        Engine([sensor, SimulatedSensor()])
    proc = _ScaledCopy(StreamInfo("ppg", "ppg", "a.u.", 64.0))
    with pytest.raises(ValueError, match=r"needs stream\(s\) \['ppg'\]"):
        Engine([sensor], [proc])


class _FailingDevice(Device):
    id = "flaky"
    streams = (StreamInfo("hr", "hr", "bpm", 1.0, ("hr",), "flaky"),)

    async def chunks(self, clock, until):
        yield Chunk(self.streams[0], [70.0, 71.0], t0=0.0)
        await clock.sleep_until(2.0)
        raise ConnectionError("strap lost and could not reconnect")


def test_device_error_keeps_what_was_recorded(tmp_path):
    clock = SessionClock(speed=50.0)
    recorder = SessionRecorder(tmp_path)
    engine = Engine([_FailingDevice()], sinks=[recorder], clock=clock, duration=60.0)
    with pytest.raises(ConnectionError, match="strap lost"):
        asyncio.run(engine.run())
    rec = bf.read(recorder.path)
    assert rec.complete and "strap lost" in rec.meta["ended_by"]
    assert rec.signals["hr"].values.tolist() == [70.0, 71.0]


def test_session_runs_on_a_worker_thread_and_stops_from_the_main_thread(tmp_path):
    session = _demo_session(tmp_path, speed=50.0)
    future = session.start_in_thread()
    deadline = threading.Event()
    deadline.wait(1.0)                       # about 50 s of session time
    assert not future.done()
    session.stop("stop button")
    end = future.result(timeout=10)
    assert end.ended_by == "stop button" and 20 < end.t_end < 120
    rec = bf.read(session.path)
    assert rec.complete
    frame = rec.signals["eda"].to_frame()
    assert list(frame.columns) == ["EDA"] and frame.index.name == "time_s"
    assert len(frame) == len(rec.signals["eda"])
