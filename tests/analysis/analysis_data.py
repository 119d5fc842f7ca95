"""Helpers of the analysis tests (imported as ``analysis_data``; pytest puts this folder on
``sys.path``): recording a simulated demo session, image onsets of the NeuroKit2 example."""
from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO, Protocol
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig


def record_protocol(out: Path, protocol: Protocol, seed: int = 2, **config) -> Path:
    """``protocol`` on the simulated sensor (``config``: :class:`SimConfig` fields) at 2000x,
    raw streams only; the session file's path."""
    runner = ProtocolRunner(protocol)
    sensor = SimulatedSensor(SimConfig(seed=seed, **config), runner.state_at)
    session = Session([sensor], runner, out_dir=out, speed=2000.0, processors=[])
    asyncio.run(session.run())
    return session.path


def record_demo(out: Path, seed: int = 5, with_processors: bool = True) -> Path:
    """The built-in demo protocol on the simulated sensor at 1000x; the session file's path."""
    runner = ProtocolRunner(DEMO)
    sensor = SimulatedSensor(SimConfig(seed=seed, artifact_per_min=0.5, ectopic_per_min=1.0),
                             runner.state_at)
    session = Session([sensor], runner, out_dir=out, speed=1000.0,
                      processors=None if with_processors else [])
    asyncio.run(session.run())
    return session.path


def photosensor_onsets(photo: np.ndarray, fs: float) -> np.ndarray:
    """Image onsets (s) of the NeuroKit2 example: where the photosensor drops below its midpoint."""
    low = photo < (photo.min() + photo.max()) / 2
    return (np.flatnonzero(low[1:] & ~low[:-1]) + 1) / fs
