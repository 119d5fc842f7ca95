"""The simulated stress response, measured by the signal core in the recorded session file."""
from __future__ import annotations

import asyncio

import pytest

import biofeed as bf
from biofeed.analysis.phases import phase_table
from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stressor_and_paced_breathing_show_in_the_recording(tmp_path, seed):
    runner = ProtocolRunner(DEMO)
    session = Session([SimulatedSensor(SimConfig(seed=seed), runner.state_at)], runner,
                      out_dir=tmp_path, speed=1000.0)
    asyncio.run(session.run())
    table = phase_table(bf.read(session.path)).set_index("phase")
    base, stress, paced = table.loc["baseline"], table.loc["stressor"], table.loc["paced_breathing"]
    assert stress.hr_bpm >= base.hr_bpm + 8, table
    assert stress.scr_per_min >= 2 * max(base.scr_per_min, 0.5), table
    assert paced.rmssd_ms > base.rmssd_ms, table
    assert paced.rsa_bpm >= 1.5 * base.rsa_bpm, table   # RSA per breath grows at 6/min
    assert stress.scl_us > base.scl_us, table
