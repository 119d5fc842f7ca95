"""Helpers of the analysis tests (imported as ``analysis_data``; pytest puts this folder on
``sys.path``): recording a simulated demo session, image onsets of the NeuroKit2 example."""
from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO, Pacer, Phase, Protocol, Rating
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


#: A short protocol with everything the progress report follows: baseline, a stressor with a
#: SUDS rating, recovery and paced breathing (210 s).
SHORT_COURSE = Protocol(
    name="short-course",
    description="60 s baseline, 40 s stressor, SUDS rating, 50 s recovery, 50 s paced breathing.",
    phases=(Phase("baseline", "baseline", 60.0),
            Phase("stressor", "prompt", 40.0, "Think of a time you felt alone.", stressor=True),
            Phase("suds", "rating", 10.0, rating=Rating("SUDS", "How distressed are you?", 0, 10)),
            Phase("recovery", "recovery", 50.0),
            Phase("paced", "paced_breathing", 50.0, pacer=Pacer(6.0, 0.4))))


def record_course(out: Path, participant: str, seed: int, suds: float) -> Path:
    """:data:`SHORT_COURSE` for ``participant`` at 2000x with the live processors, the SUDS
    rating ``suds`` given automatically; the session file's path."""
    from biofeed.protocol.ratings import AutoRatings

    runner = ProtocolRunner(SHORT_COURSE, auto_ratings=AutoRatings([suds]))
    sensor = SimulatedSensor(SimConfig(seed=seed), runner.state_at)
    session = Session([sensor], runner, out_dir=out, participant=participant, speed=2000.0)
    asyncio.run(session.run())
    return session.path
